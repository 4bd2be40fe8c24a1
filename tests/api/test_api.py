"""The JSON API through httpx (TestClient): auth, CSRF, roles, 422 field names, audit."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import refill_dry_demo_pump
from thecal.api.context import AppContext
from thecal.store.schema import AuditRow


def _login(client: TestClient, who: str) -> str:
    r = client.post("/api/v1/login", json={"username": who, "password": f"demo-{who}"})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def _pump_patient(client: TestClient) -> dict[str, Any]:
    cal = client.get("/api/v1/calendar").json()
    pid = next(e["patient_id"] for e in cal["entries"] if e["due"])
    return dict(client.get(f"/api/v1/patients/{pid}").json())


def test_openapi_and_lists(client: TestClient) -> None:
    assert "/api/v1/patients" in client.get("/api/v1/openapi.json").json()["paths"]
    assert client.get("/api/v1/patients").status_code == 401
    _login(client, "viewer")
    assert any(p["mrn"] == "SEED-000" for p in client.get("/api/v1/patients").json())
    # One page with counts (issue 15: was the whole list); a bad limit is a 422.
    work = client.get("/api/v1/worklist").json()
    assert set(work) == {"today", "total", "limit", "offset", "counts", "levels", "items"}
    assert work["limit"] == 100 and len(work["items"]) == min(work["total"], 100)
    assert client.get("/api/v1/worklist", params={"limit": "-1"}).status_code == 422


def test_worklist_paging_refuses_what_is_not_one_whole_number_in_range(
    client: TestClient,
) -> None:
    _login(client, "viewer")
    for name, bad in (
        ("limit", "nan"),
        ("limit", "inf"),
        ("limit", "2,5"),
        ("limit", "2.5"),
        ("limit", "1e3"),
        ("limit", "2+3"),
        ("limit", "1001"),
        ("limit", "9" * 400),
        ("offset", "-1"),
        ("offset", str(10**9 + 1)),
    ):
        r = client.get("/api/v1/worklist", params={name: bad})
        assert r.status_code == 422, (name, bad)
        assert name in r.text
    # The edges themselves are pages: limit 0 and 1000 (MAX_LIMIT), offset 10**9.
    for params in ({"limit": "0"}, {"limit": "1000"}, {"offset": str(10**9)}):
        r = client.get("/api/v1/worklist", params=params)
        assert r.status_code == 200, params
        page = r.json()
        assert len(page["items"]) == min(page["limit"], max(page["total"] - page["offset"], 0))


def test_refill_422_names_the_field(client: TestClient) -> None:
    token = _login(client, "nurse")
    p = _pump_patient(client)
    body = {
        "withdrawn": {"value": 3, "unit": "mg"},
        "filled": {"value": 20, "unit": "mL"},
        "drug_lot": "L1",
        "patient_version": p["version"],
    }
    r = client.post(
        f"/api/v1/patients/{p['id']}/refills", json=body, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "refill.withdrawn"


def test_write_without_a_good_csrf_token_refused_for_a_writer(
    client: TestClient, ctx: AppContext
) -> None:
    # A nurse may write: the 403s below come from the CSRF check, not from the role.
    token = _login(client, "nurse")
    p = _pump_patient(client)
    body = {
        "withdrawn": {"value": 3, "unit": "mg"},  # wrong unit: a write that passes is 422
        "filled": {"value": 20, "unit": "mL"},
        "drug_lot": "L1",
        "patient_version": p["version"],
    }
    url = f"/api/v1/patients/{p['id']}/refills"
    bad = [None, "", token[:-1], token + "x", "x" * 5000, "é" * len(token), token.upper()]
    for odd in bad:
        headers = {} if odd is None else {"X-CSRF-Token": odd}
        r = client.post(url, json=body, headers={k: v.encode() for k, v in headers.items()})
        assert r.status_code == 403, (odd, r.text)
        assert "CSRF" in r.json()["detail"]
    r = client.post(url, json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 422  # the same request with the right token reaches the workflow
    with ctx.uow.reader() as repo:
        assert repo.get_patient(p["id"]).version == p["version"]  # nothing written


def test_viewer_refused_with_a_good_csrf_token(client: TestClient) -> None:
    token = _login(client, "viewer")
    p = _pump_patient(client)
    body = {
        "withdrawn": {"value": 3, "unit": "mL"},
        "filled": {"value": 20, "unit": "mL"},
        "drug_lot": "L1",
        "patient_version": p["version"],
    }
    r = client.post(
        f"/api/v1/patients/{p['id']}/refills", json=body, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 403 and "viewer" in r.json()["detail"]


def test_nurse_program_change_bounds_and_audit(client: TestClient, ctx: AppContext) -> None:
    token = _login(client, "nurse")
    p = _pump_patient(client)
    refill_dry_demo_pump(ctx, p["mrn"])  # else every change is a restart on an empty pump
    p = dict(client.get(f"/api/v1/patients/{p['id']}").json())
    plan = p["prescription"]["plan"]
    plan = {k: v for k, v in plan.items() if v is not None}
    dose = plan["schedule"]["dose"]
    higher = dict(
        plan,
        schedule=dict(
            plan["schedule"], dose=dose.replace(dose.split()[0], str(float(dose.split()[0]) * 2))
        ),
    )
    url = f"/api/v1/patients/{p['id']}/program"
    r = client.post(
        url,
        json={"plan": higher, "reason": "more pain", "patient_version": p["version"]},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 403 and "above the prescribed" in r.json()["detail"]
    same = client.post(
        url,
        json={
            "plan": plan,
            "reason": "reprogrammed unchanged",
            "overrides": {},
            "patient_version": p["version"],
        },
        headers={"X-CSRF-Token": token},
    )
    assert same.status_code in (201, 409), same.text
    assert ctx.uow.verify_audit().ok
    with ctx.uow.session() as s:
        reasons = (
            s.execute(select(AuditRow.reason).where(AuditRow.actor == "nurse")).scalars().all()
        )
    if same.status_code == 201:
        assert "reprogrammed unchanged" in reasons
