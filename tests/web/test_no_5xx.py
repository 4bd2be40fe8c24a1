"""Walk every route of the web app and the API with unknown ids, odd ids and odd CSRF tokens,
signed in and not, with garbage cookies and bodies: never a 5xx. Unknown patients and
interrogations are 404; a bad CSRF token on a write is 403."""

import re
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login
from thecal.api.context import AppContext
from thecal.web.app import create_app

UNKNOWN = "0" * 32  # a well-formed id that is no record
ODD_IDS = [UNKNOWN, "nope", "%00", "%C3%A9", "x" * 300, "%27%3B--", "..", "%F0%9F%92%89"]
ODD_TOKENS = ["", "é" * 32, "x" * 5000, "\u0000", "garbage token", "🩺"]


def _walk(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out += [(m, prefix + route.path) for m in sorted(route.methods)]
        elif hasattr(route, "original_router"):  # FastAPI wraps an included router
            out += _walk(route.original_router.routes, prefix + route.include_context.prefix)
    return out


def _routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) of the app, the included API router's too."""
    return _walk(client.app.routes)  # type: ignore[attr-defined]


def _fill(path: str, ids: dict[str, str]) -> str:
    # A record id other than the patient's (interrogation, stimulator) gets interrogation_id's.
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), ids["interrogation_id"]), path)


def _send(client: TestClient, method: str, url: str, token: str) -> Any:
    if method == "GET":
        return client.get(url, follow_redirects=False)
    headers = {"X-CSRF-Token": token.encode("utf-8")}
    if url.startswith("/api/"):
        body = {"withdrawn": {"value": 1, "unit": "mL"}, "filled": {"value": 2, "unit": "é"},
                "drug_lot": "L", "patient_version": 1, "plan": {"x": 1}, "reason": "r",
                "username": "nurse", "password": "wrong",
                "values": [{"contact": "c", "impedance": {"value": 1, "unit": "Ohm"}}]}  # fmt: skip
        return client.request(method, url, json=body, headers=headers, follow_redirects=False)
    form = {"csrf": token, "withdrawn": "1 mL", "filled": "NaN mL", "drug_lot": "é",
            "step": "confirm", "version": "9" * 400, "dose": "1e999 mg/d", "reason": "r",
            "username": "nurse", "password": "wrong"}  # fmt: skip
    return client.request(method, url, data=form, headers=headers, follow_redirects=False)


def test_no_route_answers_5xx_to_unknown_ids_or_odd_tokens(ctx: AppContext) -> None:
    anonymous = TestClient(create_app(ctx), raise_server_exceptions=False)
    nurse = TestClient(create_app(ctx), raise_server_exceptions=False, client=("10.0.0.9", 1))
    login(nurse, "nurse")
    routes = _routes(nurse)
    assert len(routes) >= 20  # every page and API route, not a handful
    problems = []
    for client in (anonymous, nurse):
        for method, path in routes:
            for odd in ODD_IDS:
                url = _fill(path, {"patient_id": odd, "interrogation_id": odd})
                for token in ODD_TOKENS[:2] if method != "GET" else [""]:
                    r = _send(client, method, url, token)
                    if r.status_code >= 500:
                        problems.append((method, url[:60], token[:8], r.status_code))
    assert problems == []


def test_unknown_patient_is_404_on_every_patient_route(ctx: AppContext) -> None:
    client = TestClient(create_app(ctx), raise_server_exceptions=False)
    login(client, "nurse")
    r = client.post("/api/v1/login", json={"username": "nurse", "password": "demo-nurse"})
    token = r.json()["csrf"]
    web_token = csrf_of(client, "/")  # the logout form's token (same session)
    for method, path in _routes(client):
        if "{patient_id}" not in path:
            continue
        for odd in (UNKNOWN, "nope", "%00"):
            url = _fill(path, {"patient_id": odd, "interrogation_id": UNKNOWN})
            r = _send(client, method, url, token if path.startswith("/api/") else web_token)
            assert r.status_code == 404, (method, url, r.status_code, r.text[:200])


def test_bad_csrf_tokens_are_403(ctx: AppContext) -> None:
    client = TestClient(create_app(ctx), raise_server_exceptions=False)
    login(client, "nurse")
    client.post("/api/v1/login", json={"username": "nurse", "password": "demo-nurse"})
    pid = client.get("/api/v1/patients").json()[0]["id"]
    writes = [p for m, p in _routes(client) if m == "POST" and "login" not in p]
    assert writes
    for path in writes:
        url = _fill(path, {"patient_id": pid, "interrogation_id": UNKNOWN})
        for token in ODD_TOKENS:
            r = _send(client, "POST", url, token)
            assert r.status_code == 403, (url, token[:8], r.status_code, r.text[:200])


def test_garbage_session_cookies_are_anonymous(ctx: AppContext) -> None:
    for cookie in ["é.é", "x", "a.b", "." * 50, "e30=." + "0" * 64, "\u0000.\u0000"]:
        client = TestClient(create_app(ctx), raise_server_exceptions=False)
        header = {"Cookie": b"thecal_session=" + cookie.encode("utf-8")}
        assert client.get("/api/v1/patients", headers=header).status_code == 401
        assert client.get("/", headers=header, follow_redirects=False).status_code == 303
