"""An interrogation from the patient page is reconciled with the record and its findings shown
(level as text in a status class) on the result page, the stored record's page and the API."""

from fastapi.testclient import TestClient

from tests.web import test_interrogate
from tests.web.conftest import csrf_of, login
from thecal.api.context import AppContext
from thecal.web.app import create_app
from thecal.web.implants import ImplantLink

patient_and_link = test_interrogate.patient_and_link  # the virtual implant on 127.0.0.1


def test_interrogation_shows_and_stores_its_reconciliation(
    ctx: AppContext, patient_and_link: tuple[str, str, ImplantLink]
) -> None:
    pid, serial, link = patient_and_link
    client = TestClient(create_app(ctx, {serial: link}))
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}")
    page = client.post(f"/patients/{pid}/interrogate", data={"csrf": token}).text
    assert "Reconciliation with the record" in page
    stored = ctx.services.interrogations(patient_id=pid)[-1]
    codes = {f.code for f in stored.findings}
    # The virtual implant's clock starts at its plan's time (2024-01-01 08:00), the clinic's
    # clock is the demo's today: years apart, a hard drift.
    assert "RECON-CLOCK-DRIFT" in codes
    for f in stored.findings:
        assert f'<span class="status status-{f.level.value}">{f.level.value}</span>' in page
        assert f.code in page
    record = client.get(f"/patients/{pid}/interrogations/{stored.id}").text
    assert "Reconciliation with the record" in record and "RECON-CLOCK-DRIFT" in record
    api = client.get(f"/api/v1/patients/{pid}/interrogations/{stored.id}").json()
    assert [f["code"] for f in api["findings"]] == [f.code for f in stored.findings]
    assert api["findings"][0]["level"] == "hard"
