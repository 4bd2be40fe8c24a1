"""``/api/v1/alarms``: an interrogation through the services turns the implant's alarms into
clinic alarms; a nurse acknowledges and resolves them (CSRF header, who/when/why stored and
audited); a viewer and a missing reason are refused."""

from fastapi.testclient import TestClient

from tests.unit.clinic.test_interrogation_history import LOW, status
from thecal.api.context import AppContext
from thecal.clinic.workflows import pump_in_place


def _login(client: TestClient, who: str) -> str:
    r = client.post("/api/v1/login", json={"username": who, "password": f"demo-{who}"})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def _interrogated(ctx: AppContext) -> str:
    """DEMO-0001 interrogated with a LOW_RESERVOIR alarm raised 2024-03-01 07:00 (pump clock)."""
    with ctx.uow.reader() as repo:
        pid = next(p.id for p in repo.list_patients() if p.mrn == "DEMO-0001")
        pump = pump_in_place(repo, pid)
        nurse = repo.user_by_name("nurse")
    assert pump is not None and nurse is not None
    for _ in range(2):  # twice: still one clinic alarm
        snap = status(pump.serial, 3.0, [LOW])
        ctx.services.import_interrogation(actor=nurse, patient_id=pid, serial=pump.serial,
                                          status=snap, log=[])  # fmt: skip
    return pid


def test_alarm_from_the_implant_acknowledged_and_resolved(client: TestClient,
                                                         ctx: AppContext) -> None:  # fmt: skip
    pid = _interrogated(ctx)
    assert client.get("/api/v1/alarms").status_code == 401
    _login(client, "viewer")
    mine = client.get("/api/v1/alarms", params={"patient_id": pid}).json()
    low = [
        a for a in mine if a["code"] == "LOW_RESERVOIR" and a["raised_at"].startswith("2024-03-01")
    ]
    assert len(low) == 1 and low[0]["level"] == "non-critical" and low[0]["resolved_at"] is None
    aid = low[0]["id"]
    assert aid in {a["id"] for a in client.get("/api/v1/alarms").json()}  # open, clinic-wide
    csrf = _login(client, "viewer")
    r = client.post(f"/api/v1/alarms/{aid}/acknowledge", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    csrf = _login(client, "nurse")
    assert client.post(f"/api/v1/alarms/{aid}/acknowledge").status_code == 403  # no CSRF
    r = client.post(f"/api/v1/alarms/{aid}/acknowledge", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "nurse"
    for body in ({"reason": ""}, {}, {"reason": "x" * 2001}, {"reason": "ok", "extra": 1}):
        bad = client.post(f"/api/v1/alarms/{aid}/resolve", json=body,
                          headers={"X-CSRF-Token": csrf})  # fmt: skip
        assert bad.status_code == 422, body
    r = client.post(f"/api/v1/alarms/{aid}/resolve", json={"reason": "refilled"},
                    headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["resolved_by"], r.json()["resolution"]) == ("nurse", "refilled")
    assert aid not in {a["id"] for a in client.get("/api/v1/alarms").json()}
    again = client.post(f"/api/v1/alarms/{aid}/resolve", json={"reason": "again"},
                        headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert again.status_code == 404
    assert client.get("/api/v1/alarms", params={"patient_id": "nope"}).status_code == 404
    assert ctx.uow.verify_audit().ok
