"""A page's error is an HTML page with the "not a certified medical device" banner, never raw
JSON; the JSON API keeps its JSON errors."""

from dataclasses import replace

from fastapi.testclient import TestClient
from httpx import Response
from markupsafe import escape

from tests.web.conftest import csrf_of, login
from thecal import NOT_A_MEDICAL_DEVICE as RAW_NOTICE
from thecal.api.context import AppContext

NOT_A_MEDICAL_DEVICE = str(escape(RAW_NOTICE))  # as the page shows it
UNKNOWN_ID = "0" * 32  # looks like a record id (passes known_ids), is none


def _html_error(r: Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html"), r.headers
    assert NOT_A_MEDICAL_DEVICE in r.text
    return r.text


def _due_patient(ctx: AppContext) -> str:
    return next(p.id for p in ctx.services.patients() if p.mrn == "DEMO-0001")


def test_unknown_patient_and_unknown_path_are_html_404(client: TestClient) -> None:
    login(client, "nurse")
    html = _html_error(client.get(f"/patients/{UNKNOWN_ID}"), 404)
    assert "no such patient" in html and "Back to the dashboard" in html
    _html_error(client.get(f"/patients/{UNKNOWN_ID}/refill"), 404)
    _html_error(client.get(f"/patients/{UNKNOWN_ID}/charts/refills.svg"), 404)
    _html_error(client.get("/no-such-page"), 404)
    _html_error(client.get("/patients/" + "x" * 200), 404)  # refused by known_ids


def test_wrong_csrf_token_is_an_html_403(client: TestClient, ctx: AppContext) -> None:
    login(client, "nurse")
    pid = _due_patient(ctx)
    r = client.post(f"/patients/{pid}/refill",
                    data={"csrf": "forged", "withdrawn": "1 mL", "filled": "20 mL"})  # fmt: skip
    assert "CSRF" in _html_error(r, 403)


def test_viewer_write_refused_by_the_services_is_an_html_403(
    client: TestClient, ctx: AppContext
) -> None:
    login(client, "viewer")
    pid = _due_patient(ctx)
    token = csrf_of(client, f"/patients/{pid}")
    for step in ("preview", "confirm"):
        r = client.post(f"/patients/{pid}/refill", data={
            "csrf": token, "withdrawn": "1 mL", "filled": "20 mL", "drug_lot": "L",
            "step": step, "version": "1"})  # fmt: skip
        assert "viewer (viewer) may not record refills" in _html_error(r, 403)


def test_stale_version_is_an_html_409(client: TestClient, ctx: AppContext) -> None:
    login(client, "nurse")
    pid = _due_patient(ctx)
    with ctx.uow.reader() as repo:
        opened = repo.get_patient(pid).version
    # Someone else writes for the patient after the form was opened.
    with ctx.uow.transaction("physician", ctx.clock(), "history corrected") as repo:
        repo.update_patient(replace(repo.get_patient(pid), opioid_naive=True))
    token = csrf_of(client, f"/patients/{pid}/refill")
    r = client.post(f"/patients/{pid}/refill", data={
        "csrf": token, "withdrawn": "1 mL", "filled": "20 mL", "drug_lot": "L",
        "step": "confirm", "version": str(opened)})  # fmt: skip
    assert "changed by someone else" in _html_error(r, 409)


def test_bad_query_is_an_html_422(client: TestClient) -> None:
    login(client, "viewer")
    _html_error(client.get("/calendar", params={"offset": "-1"}), 422)


def test_api_errors_stay_json(client: TestClient) -> None:
    r = client.get("/api/v1/patients")
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    client.post("/api/v1/login", json={"username": "viewer", "password": "demo-viewer"})
    r = client.get(f"/api/v1/patients/{UNKNOWN_ID}")
    assert r.status_code == 404 and r.json()["detail"][0]["field"] == "patient.id"
    r = client.get("/api/v1/no-such-route")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = client.get("/api/v1/calendar", params={"offset": "-1"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "offset"


def test_an_oversized_form_is_an_html_413_and_an_oversized_api_body_json(
    client: TestClient, ctx: AppContext
) -> None:
    big = b"username=nurse&password=" + b"x" * ctx.limits.max_request_body_bytes
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert "larger than" in _html_error(client.post("/login", content=big, headers=form), 413)
    r = client.post("/api/v1/login", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/json"
