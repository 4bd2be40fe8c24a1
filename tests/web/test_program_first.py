"""The first prescription on the program page (issue 13): a patient with a pump in place and
no prescription gets a form (pump and catheter from the device record, admixture from the drug
library, schedule, patient bolus, initial fill, alarm) that goes through the same preview ->
findings -> reasons -> confirm path and safety gate as a program change; a refused value is
shown again with what was typed and the field named (422); a hard finding stores nothing; a
viewer and a nurse are refused."""

import re

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login, version_of
from thecal.api.context import AppContext
from thecal.clinic.workflows import current_prescription

PUMP = "Prometra II 20 mL"


def _reasons(html: str) -> dict[str, str]:
    return dict.fromkeys(re.findall(r'name="(reason:[^"]+)"', html), "decided in clinic")


def implanted_patient(client: TestClient, mrn: str = "FIRST-1", catheter: bool = True) -> str:
    """A patient registered through the pages with a Prometra II pump (and its catheter,
    45 cm: 45 cm x 0.0026 mL/cm = 0.117 mL) implanted on the test clock's day; no
    prescription. The client is left logged in as the physician."""
    login(client, "physician")
    token = csrf_of(client, "/patients/new")
    r = client.post("/patients/new", data={
        "csrf": token, "mrn": mrn, "name": "Synthetic First", "date_of_birth": "1960-01-02",
        "sex": "female", "contact": ""}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    pid = r.headers["location"].split("/")[2]
    devices = [("pump", PUMP, {"serial": f"{mrn}-P", "pocket_side": "right"})]
    if catheter:
        devices.append(("catheter", "Prometra catheter", {"length": "45", "tip_level": "T10"}))
    for kind, model, extra in devices:
        url = f"/patients/{pid}/procedures/new"
        page = client.get(url).text
        version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
        r = client.post(url, data={"csrf": token, "version": version, "kind": "implant",
                                   "performed_on": "2026-11-23", "device_kind": kind,
                                   "model": model, **extra}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
    return pid


# Illustrative: morphine 10 mg/mL at 3 mg/d = 0.3 mL/d; 20 mL filled (the Prometra II's
# reservoir, a full fill: the edge is allowed).
FORM = {"drug_0": "morphine", "conc_0": "10 mg/mL", "mode": "continuous", "dose": "3 mg/d",
        "fill_volume": "20 mL", "fill_at": "2026-11-23T09:30",
        "reason": "first program"}  # fmt: skip


def test_physician_writes_the_first_prescription(client: TestClient, ctx: AppContext) -> None:
    pid = implanted_patient(client)
    page = client.get(f"/patients/{pid}/program")
    assert page.status_code == 200 and "First prescription" in page.text
    assert PUMP in page.text and "volume 0.117 mL" in page.text  # 45 cm x 0.0026 mL/cm
    assert 'name="catheter_volume"' not in page.text  # the catalog gives it
    assert page.text.count('<select id="fp-drug-') == ctx.library.settings.max_admixture_drugs
    token = csrf_of(client, f"/patients/{pid}/program")
    form = {"csrf": token, **FORM}
    r = client.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
    assert r.status_code == 200, r.text
    assert "The first prescription" in r.text and "20 mL at 2026-11-23 09:30" in r.text
    assert "0.3 mL/d" in r.text  # 3 mg/d / 10 mg/mL
    r = client.post(f"/patients/{pid}/program", data={**form, **_reasons(r.text),
                    **version_of(r.text), "step": "confirm"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/patients/{pid}/program?saved=record"
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, pid)
        change = repo.program_changes_for(pid)[-1]
    assert rx is not None and rx.version == 1 and change.old_version is None
    plan = rx.plan()
    assert plan.start is True and plan.pump.model == PUMP
    assert [(i.drug, i.concentration) for i in plan.admixture] == [("morphine", "10 mg/mL")]
    assert plan.schedule.dose == "3 mg/d" and plan.fill is not None
    assert plan.fill.volume == "20 mL" and plan.fill.first_fill
    assert plan.catheter is not None and plan.catheter.model == "Prometra catheter"
    shown = client.get(r.headers["location"]).text
    assert "Program change" in shown and "the pump was NOT programmed" in shown
    assert ctx.uow.verify_audit().ok
