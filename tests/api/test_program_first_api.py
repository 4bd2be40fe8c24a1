"""The first prescription over ``POST /api/v1/patients/{id}/program`` (issue 13): a patient
registered with a pump and no prescription gets version 1 through the same gate as a change
(starting-dose limits apply: ``start`` is set); each required part missing is 422 naming it; a
hard finding is 409 with nothing written; a viewer and a nurse (no prescription to stay
within) are 403."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from thecal.api.context import AppContext
from thecal.clinic.workflows import current_prescription

PUMP = "Prometra II 20 mL"
# Illustrative: morphine 10 mg/mL at 3 mg/d = 0.3 mL/d; 20 mL filled (the whole reservoir).
PLAN: dict[str, Any] = {
    "at": "2026-11-23T10:00:00", "pump": {"model": PUMP},
    "catheter": {"model": "Prometra catheter", "length": "45 cm"},
    "admixture": [{"drug": "morphine", "concentration": "10 mg/mL"}],
    "schedule": {"mode": "continuous", "dose": "3 mg/d", "drug": "morphine"},
    "fill": {"volume": "20 mL", "at": "2026-11-23T09:30:00", "first_fill": True},
}  # fmt: skip


def _login(client: TestClient, who: str) -> dict[str, str]:
    r = client.post("/api/v1/login", json={"username": who, "password": f"demo-{who}"})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": str(r.json()["csrf"])}


def _implanted(client: TestClient, mrn: str = "API-FIRST-1") -> tuple[str, dict[str, str]]:
    h = _login(client, "physician")
    made = client.post("/api/v1/patients", headers=h, json={
        "mrn": mrn, "name": "Synthetic Apifirst", "date_of_birth": "1962-03-04",
        "sex": "female"}).json()  # fmt: skip
    implant = {"kind": "implant", "performed_on": "2026-11-23", "patient_version": made["version"],
               "placed": [{"kind": "pump", "model": PUMP, "serial": f"{mrn}-P",
                           "pocket_side": "right"}]}  # fmt: skip
    r = client.post(f"/api/v1/patients/{made['id']}/procedures", json=implant, headers=h)
    assert r.status_code == 201, r.text
    return made["id"], h


def _post(client: TestClient, pid: str, h: dict[str, str], plan: dict[str, Any],
          **over: Any) -> Any:  # fmt: skip
    version = client.get(f"/api/v1/patients/{pid}").json()["version"]
    body = {"plan": plan, "reason": "first prescription", "patient_version": version, **over}
    return client.post(f"/api/v1/patients/{pid}/program", json=body, headers=h)


def _nothing_stored(ctx: AppContext, pid: str) -> bool:
    with ctx.uow.reader() as repo:
        return not repo.prescriptions_for(pid) and not repo.program_changes_for(pid)


def test_first_prescription_is_version_1(client: TestClient, ctx: AppContext) -> None:
    pid, h = _implanted(client)
    r = _post(client, pid, h, PLAN)
    if r.status_code == 409:  # soft findings of a start need their reasons
        codes = [w.strip(":,.;()") for w in r.json()["detail"].split() if w.isupper()]
        r = _post(client, pid, h, PLAN, overrides={c: "decided" for c in codes if "-" in c})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1 and r.json()["delivery"] == "not-programmed"
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, pid)
        (change,) = repo.program_changes_for(pid)
    assert rx is not None and rx.plan().start is True and change.old_version is None


@pytest.mark.parametrize("part", ["pump", "admixture", "schedule", "at"])
def test_each_required_part_missing_is_named(
    client: TestClient, ctx: AppContext, part: str
) -> None:
    pid, h = _implanted(client)
    r = _post(client, pid, h, {k: v for k, v in PLAN.items() if k != part})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == f"plan.{part}", r.text
    assert _nothing_stored(ctx, pid)


def test_missing_reason_and_version_are_named(client: TestClient, ctx: AppContext) -> None:
    pid, h = _implanted(client)
    r = _post(client, pid, h, PLAN, reason=" ")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "program_change.reason"
    body = {"plan": PLAN, "reason": "first prescription"}
    r = client.post(f"/api/v1/patients/{pid}/program", json=body, headers=h)
    assert r.status_code == 422 and "patient_version" in r.text
    assert _nothing_stored(ctx, pid)


@pytest.mark.parametrize(
    ("part", "change", "code"),
    [("schedule", {"dose": "250 mg/d"}, "DOSE-ENTRY-CEILING"),  # morphine's 200 mg/d ceiling
     ("fill", {"volume": "1000 mL"}, "FILL-OVER-CAPACITY"),  # the Prometra II holds 20 mL
     ("fill", {"volume": "0 mL"}, "FILL-EMPTY")],
)  # fmt: skip
def test_a_hard_finding_is_409_with_nothing_written(
    client: TestClient, ctx: AppContext, part: str, change: dict[str, str], code: str
) -> None:
    pid, h = _implanted(client)
    plan = {**PLAN, part: {**PLAN[part], **change}}
    r = _post(client, pid, h, plan, overrides={code: "no"})
    assert r.status_code == 409 and code in r.json()["detail"], r.text
    assert _nothing_stored(ctx, pid)


def test_viewer_and_nurse_are_refused(client: TestClient, ctx: AppContext) -> None:
    pid, _ = _implanted(client)
    for who in ("viewer", "nurse"):
        h = _login(client, who)
        r = _post(client, pid, h, PLAN)
        assert r.status_code == 403, (who, r.text)
        if who == "nurse":
            assert "no current prescription to stay within" in r.text
    assert _nothing_stored(ctx, pid)
