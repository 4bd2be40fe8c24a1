"""Who may change what, through the API: the clinic service refuses, the API answers 403; the
findings say who may give their reason."""

from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient

from tests.web.conftest import refill_dry_demo_pump
from thecal.api.context import AppContext


def _login(client: TestClient, who: str) -> str:
    r = client.post("/api/v1/login", json={"username": who, "password": f"demo-{who}"})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def _patient(client: TestClient, mrn: str = "DEMO-0001") -> dict[str, Any]:
    pid = next(p["id"] for p in client.get("/api/v1/patients").json() if p["mrn"] == mrn)
    return dict(client.get(f"/api/v1/patients/{pid}").json())


def _plan(p: dict[str, Any], **schedule: str) -> dict[str, Any]:
    plan = {k: v for k, v in p["prescription"]["plan"].items() if v is not None}
    return dict(plan, schedule=dict(plan["schedule"], **schedule))


def test_opioid_dose_reason_needs_a_physician(client: TestClient, ctx: AppContext) -> None:
    refill_dry_demo_pump(ctx)  # else every change is a restart on an empty pump
    token = _login(client, "nurse")
    p = _patient(client)  # morphine 3 mg/d
    # Now recorded as opioid-naive: 2.5 mg/d is above the 1 mg/d opioid-naive limit (soft).
    with ctx.uow.transaction("physician", ctx.clock(), "history corrected") as repo:
        repo.update_patient(replace(repo.get_patient(p["id"]), opioid_naive=True))
    url = f"/api/v1/patients/{p['id']}/program"
    body = {"plan": _plan(p, dose="2.5 mg/d"), "reason": "less sedation",
            "overrides": {"DOSE-DAILY-MAX": "tolerant", "OBSERVE-AFTER-INCREASE": "x"}}  # fmt: skip
    r = client.post(url, json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 403, r.text
    assert r.json()["detail"] == "a physician must give the reason for DOSE-DAILY-MAX"
    before = _patient(client)["prescription"]["version"]
    assert before == p["prescription"]["version"]  # nothing stored
    token = _login(client, "physician")
    r = client.post(url, json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text
    dose = next(f for f in r.json()["findings"]
                if f["code"] == "DOSE-DAILY-MAX" and f["level"] == "soft")  # fmt: skip
    assert dose["override_by"] == "physician"


def test_nurse_may_not_add_a_patient_bolus(client: TestClient) -> None:
    token = _login(client, "nurse")
    p = _patient(client)
    plan = _plan(p)
    plan["patient_bolus"] = {"volume": "0.05 mL", "duration": "10 min", "lockout": "4 h",
                             "max_per_day": 4}  # fmt: skip
    r = client.post(f"/api/v1/patients/{p['id']}/program",
                    json={"plan": plan, "reason": "breakthrough pain"},
                    headers={"X-CSRF-Token": token})  # fmt: skip
    assert r.status_code == 403
    assert "outside the current prescription: adding a patient bolus" in r.json()["detail"]
