"""``/api/v1/patients/{id}/assessments``: a nurse records the seed 003 case 2 presentation
(CSRF header, patient version) and reads it back within 24 h; a viewer, a stale version and a
bad entry are refused; ``device_id`` must name one of the patient's devices in place."""

from datetime import date

from fastapi.testclient import TestClient

from tests.api.test_alarms_api import _login
from tests.unit.clinic.assessment_fixtures import SEED_003_CASE_2
from tests.web.test_assessment_device_pages import pump_and_ipg_at_eri
from thecal.api.context import AppContext
from thecal.clinic.model import Device, DeviceKind


def _demo(ctx: AppContext) -> str:
    with ctx.uow.reader() as repo:
        return next(p.id for p in repo.list_patients() if p.mrn == "DEMO-0001")


def test_record_and_read_assessments(client: TestClient, ctx: AppContext) -> None:
    pid = _demo(ctx)
    url = f"/api/v1/patients/{pid}/assessments"
    assert client.get(url).status_code == 401
    csrf = _login(client, "viewer")
    version = client.get(f"/api/v1/patients/{pid}").json()["version"]
    body = {"entry": SEED_003_CASE_2, "patient_version": version}
    assert client.post(url, json=body, headers={"X-CSRF-Token": csrf}).status_code == 403
    csrf = _login(client, "nurse")
    assert client.post(url, json=body).status_code == 403  # no CSRF token
    bad = {"entry": {"symptoms": [{"kind": "itch"}]}, "patient_version": version}
    r = client.post(url, json=bad, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "symptoms.0.kind"
    stale = {**body, "patient_version": version - 1}
    assert client.post(url, json=stale, headers={"X-CSRF-Token": csrf}).status_code == 409
    r = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["urgency"], out["by"], out["open"]) == ("within_24h", "nurse", True)
    assert "urgent-imaging-24h" in [p["code"] for p in out["result"]["prompts"]]
    assert all(p["source"] and p["because"] for p in out["result"]["prompts"])
    assert "never diagnoses" in out["result"]["statement"]
    listed = client.get(url).json()
    assert [a["id"] for a in listed] == [out["id"]]
    assert client.get("/api/v1/patients/nope/assessments").status_code == 404
    assert ctx.uow.verify_audit().ok


def test_body_errors_name_the_field(client: TestClient, ctx: AppContext) -> None:
    pid = _demo(ctx)
    csrf = _login(client, "nurse")
    url = f"/api/v1/patients/{pid}/assessments"
    cases = [
        ({"entry": {}}, "assessment.patient_version"),
        ({"patient_version": 1, "extra": 1}, "assessment.extra"),
        ({"patient_version": 1, "note": "x" * 2001}, "assessment.note"),
    ]
    for body, field in cases:
        r = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == field, r.text


def test_device_id_names_a_device_in_place(client: TestClient, ctx: AppContext) -> None:
    """The same device checks as the form: the IPG's checklist records the IPG (its line
    leaves the worklist, the pump's stays); a removed device or another patient's is 422 on
    assessment.device with nothing written."""
    pid, pump, ipg = pump_and_ipg_at_eri(ctx)
    old = Device(pid, DeviceKind.PUMP, pump.model, date(2010, 1, 4), "OLD-1",
                 removed_on=date(2018, 5, 2))  # fmt: skip
    with ctx.uow.transaction("nurse", ctx.clock(), "old pump") as repo:
        repo.add_device(old)
        other = next(p.id for p in repo.list_patients() if p.mrn != "DEMO-0001")
        theirs = next(d for d in repo.devices_for(other) if d.in_place)
    csrf = _login(client, "nurse")
    url = f"/api/v1/patients/{pid}/assessments"
    version = client.get(f"/api/v1/patients/{pid}").json()["version"]
    body = {"kind": "replacement", "entry": {"occasion": "replacement_planning"},
            "patient_version": version}  # fmt: skip
    for bad in (old.id, theirs.id, "nope"):
        r = client.post(url, json={**body, "device_id": bad}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "assessment.device"
    r = client.post(url, json={**body, "device_id": "x" * 65}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "assessment.device_id"
    assert client.get(url).json() == []  # nothing written
    r = client.post(url, json={**body, "device_id": ipg.id}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    assert r.json()["device_id"] == ipg.id and r.json()["presentation"]["device"] == "stimulator"
    left = {i.ref_id for i in ctx.services.worklist() if i.kind == "replacement"}
    assert ipg.id not in left and pump.id in left
