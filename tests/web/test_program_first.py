"""The first prescription on the program page (issue 13): a patient with a pump in place and
no prescription gets a form (pump and catheter from the device record, admixture from the drug
library, schedule, patient bolus, initial fill, alarm) that goes through the same preview ->
findings -> reasons -> confirm path and safety gate as a program change; a refused value is
shown again with what was typed and the field named (422); a hard finding stores nothing; a
viewer and a nurse are refused."""

import html
import re
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login, version_of
from thecal.adapters.implant_server import DeviceInputs, implant_from_plan, make_server
from thecal.api.context import AppContext
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.workflows import current_prescription
from thecal.link.keystore import provision_implant, role_credential
from thecal.link.roles import Role
from thecal.link.transport import TcpListener
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_, field_label
from thecal.web.app import create_app

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


def _stored(ctx: AppContext, pid: str) -> int:
    with ctx.uow.reader() as repo:
        return len(repo.prescriptions_for(pid)) + len(repo.program_changes_for(pid))


@pytest.mark.parametrize(
    ("missing", "field"),
    [("drug_0", "admixture[0].drug"), ("conc_0", "admixture[0].concentration"),
     ("dose", "schedule.dose"), ("mode", "schedule.mode"), ("fill_volume", "fill.volume"),
     ("fill_at", "fill.at"), ("reason", "program_change.reason")],
)  # fmt: skip
def test_each_required_field_missing_is_named_and_the_form_kept(
    client: TestClient, ctx: AppContext, missing: str, field: str
) -> None:
    pid = implanted_patient(client)
    token = csrf_of(client, f"/patients/{pid}/program")
    form = {"csrf": token, **FORM, missing: ""}
    for step in ("preview", "confirm"):
        r = client.post(f"/patients/{pid}/program", data={**form, "step": step})
        assert r.status_code == 422, (missing, step, r.text)
        assert field_label(field) in html.unescape(r.text) and "is required" in r.text
        assert "First prescription" in r.text and 'name="fill_volume"' in r.text
        for key, value in FORM.items():  # what was typed is shown again
            if key not in (missing, "drug_0", "mode"):
                assert f'value="{value}"' in r.text, key
    if missing != "drug_0":
        assert "<option selected>morphine</option>" in r.text
    assert _stored(ctx, pid) == 0


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [({"fill_volume": "20"}, "fill.volume", "unit"),
     ({"fill_at": "2026-11-22T23:59"}, "fill.at", "before the pump was implanted"),
     ({"fill_at": "2026-11-23T10:01"}, "fill.at", "after the program starts"),  # clock 10:00
     ({"fill_at": "tomorrow"}, "fill.at", "not a date and time"),
     ({"rate": "0.3 mL/d"}, "schedule.dose", "not both"),
     ({"dose": "3 mg"}, "schedule.dose", ""),  # no time base
     ({"drug_0": "aspirin"}, "admixture[0].drug", "unknown drug"),
     ({"conc_1": "2 mg/mL"}, "admixture[1].drug", "is required"),
     ({"drug_1": "clonidine"}, "admixture[1].concentration", "is required"),
     ({"conc_0": "10 mg"}, "admixture[0].concentration", ""),
     ({"mode": "flex"}, "schedule.steps", "at least one step")],
)  # fmt: skip
def test_refused_values_name_the_field(
    client: TestClient, ctx: AppContext, change: dict[str, str], field: str, says: str
) -> None:
    pid = implanted_patient(client)
    token = csrf_of(client, f"/patients/{pid}/program")
    r = client.post(f"/patients/{pid}/program",
                    data={"csrf": token, **FORM, **change, "step": "preview"})  # fmt: skip
    assert r.status_code == 422, r.text
    assert field_label(field) in html.unescape(r.text) and says in html.unescape(r.text)
    assert _stored(ctx, pid) == 0


@pytest.mark.parametrize("fill_at", ["2026-11-23T00:00", "2026-11-23T10:00"])
def test_fill_at_edges_are_allowed(client: TestClient, fill_at: str) -> None:
    # The implant day's first minute and the program's start (the test clock, 10:00) are in.
    pid = implanted_patient(client)
    token = csrf_of(client, f"/patients/{pid}/program")
    form = {"csrf": token, **FORM, "fill_at": fill_at, "step": "preview"}
    r = client.post(f"/patients/{pid}/program", data=form)
    assert r.status_code == 200 and "Findings" in r.text, r.text


@pytest.mark.parametrize(
    ("change", "code"),
    [({"dose": "250 mg/d"}, "DOSE-ENTRY-CEILING"),  # morphine's 200 mg/d entry-error ceiling
     ({"fill_volume": "20.01 mL"}, "FILL-OVER-CAPACITY"),  # the Prometra II holds 20 mL
     ({"fill_volume": "0 mL"}, "FILL-EMPTY")],
)  # fmt: skip
def test_a_hard_finding_refuses_and_stores_nothing(
    client: TestClient, ctx: AppContext, change: dict[str, str], code: str
) -> None:
    pid = implanted_patient(client)
    token = csrf_of(client, f"/patients/{pid}/program")
    form = {"csrf": token, **FORM, **change}
    r = client.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
    assert r.status_code == 200, r.text
    assert f'class="hard">hard {code}: ' in r.text
    assert "A hard limit refuses this program" in r.text and "Confirm" not in r.text
    r = client.post(f"/patients/{pid}/program", data={**form, **_reasons(r.text),
                    **version_of(r.text), "step": "confirm"})  # fmt: skip
    assert r.status_code == 422 and code in r.text and _stored(ctx, pid) == 0


def test_viewer_and_nurse_are_refused(client: TestClient, ctx: AppContext) -> None:
    pid = implanted_patient(client)
    for who, says in (("viewer", "Only a physician writes a first prescription"),
                      ("nurse", "a physician writes the first one")):  # fmt: skip
        client.post("/logout", data={"csrf": csrf_of(client, "/")})
        login(client, who)
        page = client.get(f"/patients/{pid}/program")
        assert page.status_code == 200 and says in page.text
        assert 'name="fill_volume"' not in page.text  # no form
        token = csrf_of(client, "/")
        form = {"csrf": token, **FORM, "version": "1", "step": "confirm"}
        r = client.post(f"/patients/{pid}/program", data=form)
        assert r.status_code == 403, (who, r.text)
        if who == "nurse":  # the existing rule: a nurse stays within a prescription in force
            assert "no current prescription to stay within" in r.text
    assert _stored(ctx, pid) == 0


def test_no_catheter_recorded_asks_its_volume_and_flex_with_a_bolus(
    client: TestClient, ctx: AppContext
) -> None:
    pid = implanted_patient(client, "FIRST-2", catheter=False)
    page = client.get(f"/patients/{pid}/program").text
    assert "No catheter is recorded" in page and 'name="catheter_volume"' in page
    token = csrf_of(client, f"/patients/{pid}/program")
    r = client.post(
        f"/patients/{pid}/program",
        data={"csrf": token, **FORM, "catheter_volume": "0 mL", "step": "preview"},
    )
    assert (
        r.status_code == 422
        and field_label("catheter.volume") in r.text
        and "not above 0 mL" in r.text
    )
    # Illustrative flex day: 2 mg/d from 00:00, 4 mg/d from 08:00 (of 10 mg/mL); a 0.1 mg
    # bolus over 10 min, 4 h lockout, at most 3 a day.
    form = {"csrf": token, **FORM, "dose": "", "mode": "flex", "catheter_volume": "0.2 mL",
            "step_start_0": "00:00", "step_amount_0": "2 mg/d",
            "step_start_1": "08:00", "step_amount_1": "4 mg/d", "pb_amount": "0.1 mg",
            "pb_duration": "10 min", "pb_lockout": "4 h", "pb_max_per_day": "3"}  # fmt: skip
    r = client.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
    assert r.status_code == 200, r.text
    assert "flex, 2 steps" in r.text and "0.2 mL" in r.text
    r = client.post(f"/patients/{pid}/program", data={**form, **_reasons(r.text),
                    **version_of(r.text), "step": "confirm"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, pid)
    assert rx is not None
    plan = rx.plan()
    assert plan.catheter is not None and plan.catheter.volume == "0.2 mL"
    assert [s.dose for s in plan.schedule.steps] == ["2 mg/d", "4 mg/d"]
    assert plan.patient_bolus is not None and plan.patient_bolus.dose == "0.1 mg"


def test_without_a_pump_the_page_says_record_the_implant_first(client: TestClient) -> None:
    login(client, "physician")
    token = csrf_of(client, "/patients/new")
    r = client.post("/patients/new", data={
        "csrf": token, "mrn": "FIRST-3", "name": "Synthetic Nopump",
        "date_of_birth": "1960-01-02", "sex": "male", "contact": ""},
        follow_redirects=False)  # fmt: skip
    pid = r.headers["location"].split("/")[2]
    assert "record the implant" in client.get(f"/patients/{pid}/program").text
    r = client.post(f"/patients/{pid}/program", data={"csrf": token, **FORM, "step": "preview"})
    assert r.status_code == 422 and "no pump is in place" in r.text


def test_first_prescription_goes_to_the_pump_over_its_link(ctx: AppContext, tmp_path: Path) -> None:
    """With a registered link the first prescription is written to the pump (stage, read
    back, verify, commit) and recorded only then, as a program change is."""
    client = TestClient(create_app(ctx))  # the links come from the database
    pid = implanted_patient(client, "FIRST-LINK")
    serial = "FIRST-LINK-P"
    # The virtual implant starts on an illustrative program (morphine 10 mg/mL at 2.5 mg/d):
    # the pump checks a new program against the one it runs, so 3 mg/d is a +20 % step there
    # (within its 30 % titration limit; from 1 mg/d the pump refuses it: a reason it asks for
    # that the clinic's first-prescription check does not).
    factory = PlanFile.model_validate({
        "at": "2026-11-23T08:00:00", "pump": {"model": PUMP},
        "admixture": [{"drug": "morphine", "concentration": "10 mg/mL"}],
        "schedule": {"mode": "continuous", "dose": "2.5 mg/d"},
        "fill": {"volume": "20 mL", "at": "2026-11-23T08:00:00", "first_fill": True}})  # fmt: skip
    secret = provision_implant(tmp_path / "implant.key", serial)
    # Test inputs (not public): the alarm repeats of the Prometra II.
    inputs = DeviceInputs(serial, Q_(10, "min"), None, Q_(60, "min"))
    implant = implant_from_plan(factory.to_typed(), ctx.library, ctx.catalog, inputs)
    server = make_server(implant, ctx.library, secret.key, Q_(60, "s"))
    listener = TcpListener(0)
    thread = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    try:
        with ctx.uow.reader() as repo:
            physician = repo.user_by_name("physician")
        assert physician is not None
        clinician = role_credential(secret, Role.CLINICIAN)
        ctx.services.implant_links.register(
            actor=physician, serial=serial, address=f"127.0.0.1:{listener.port}",
            key=clinician.key, key_id="sha256:test", key_serial=clinician.serial,
            reason="virtual implant (test)")  # fmt: skip
        page = client.get(f"/patients/{pid}/program").text
        assert "First prescription" in page and "is reachable over its link" in page
        token = csrf_of(client, f"/patients/{pid}/program")
        form = {"csrf": token, **FORM}
        r = client.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
        assert r.status_code == 200 and "Confirm: write to the pump, then record" in r.text
        confirm = {**form, **_reasons(r.text), **version_of(r.text), "step": "confirm"}
        r = client.post(f"/patients/{pid}/program", data=confirm, follow_redirects=False)
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"/patients/{pid}/program?saved=pump"
    finally:
        server.stop.set()
        thread.join(timeout=5)
        listener.close()
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, pid)
        (delivery,) = repo.link_deliveries_for(pid)
    assert rx is not None and rx.version == 1 and rx.plan().schedule.dose == "3 mg/d"
    assert delivery.outcome is DeliveryOutcome.CONFIRMED and delivery.prescription_version == 1
