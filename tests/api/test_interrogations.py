"""``GET /api/v1/patients/{id}/interrogations[/{iid}]``: stored interrogations newest first
with summary fields; one with its full snapshot and log; 404 for an unknown patient or another
patient's interrogation."""

from datetime import datetime

from fastapi.testclient import TestClient

from tests.unit.clinic.test_interrogation_history import LOG, LOW, status
from thecal.api.context import AppContext
from thecal.clinic.interrogation import record_interrogation
from thecal.clinic.workflows import pump_in_place


def _login(client: TestClient, who: str) -> None:
    r = client.post("/api/v1/login", json={"username": who, "password": f"demo-{who}"})
    assert r.status_code == 200, r.text


def _two_interrogations(ctx: AppContext) -> tuple[str, str, list[str]]:
    """Two snapshots for DEMO-0001 (10:00 then 10:20): (patient id, pump serial, [ids])."""
    with ctx.uow.reader() as repo:
        pid = next(p.id for p in repo.list_patients() if p.mrn == "DEMO-0001")
        pump = pump_in_place(repo, pid)
        nurse = repo.user_by_name("nurse")
    assert pump is not None and nurse is not None
    clock = ctx.clock
    ids = [record_interrogation(ctx.uow, clock, nurse, pid, pump.serial,
                                status(pump.serial, 3.0, []), []).id]  # fmt: skip
    clock.now = datetime(2026, 11, 23, 10, 20)  # type: ignore[attr-defined]
    ids.append(record_interrogation(ctx.uow, clock, nurse, pid, pump.serial,
                                    status(pump.serial, 1.5, [LOW]), LOG).id)  # fmt: skip
    return pid, pump.serial, ids


def test_list_newest_first_with_summary_fields(client: TestClient, ctx: AppContext) -> None:
    pid, serial, (first, second) = _two_interrogations(ctx)
    url = f"/api/v1/patients/{pid}/interrogations"
    assert client.get(url).status_code == 401
    _login(client, "viewer")
    body = client.get(url).json()
    assert [i["id"] for i in body] == [second, first]
    newest = body[0]
    assert newest["at"] == "2026-11-23T10:20:00" and newest["by"] == "nurse"
    assert newest["serial"] == serial
    assert newest["reservoir_estimate"] == {"value": 1.5, "unit": "mL"}
    assert newest["alarms"] == ["LOW_RESERVOIR"] and newest["delivering"] is False
    assert newest["events"] == len(LOG) and "log" not in newest and "status" not in newest
    assert body[1]["alarms"] == [] and body[1]["events"] == 0


def test_detail_has_the_full_snapshot_and_log(client: TestClient, ctx: AppContext) -> None:
    pid, serial, (_, second) = _two_interrogations(ctx)
    _login(client, "nurse")
    r = client.get(f"/api/v1/patients/{pid}/interrogations/{second}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == second and body["status"] == status(serial, 1.5, [LOW])
    assert body["log"] == list(LOG) and body["alarms"] == ["LOW_RESERVOIR"]


def test_404_for_unknown_patient_or_another_patients_interrogation(
    client: TestClient, ctx: AppContext
) -> None:
    pid, _, (first, _) = _two_interrogations(ctx)
    with ctx.uow.reader() as repo:
        other = next(p.id for p in repo.list_patients() if p.id != pid)
    _login(client, "viewer")
    assert client.get("/api/v1/patients/no-such/interrogations").status_code == 404
    assert client.get(f"/api/v1/patients/{other}/interrogations").json() == []
    assert client.get(f"/api/v1/patients/{other}/interrogations/{first}").status_code == 404
    assert client.get(f"/api/v1/patients/{pid}/interrogations/no-such").status_code == 404
    assert client.get(f"/api/v1/patients/no-such/interrogations/{first}").status_code == 404
