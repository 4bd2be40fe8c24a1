"""The OpenAPI at /api/v1/openapi.json describes the JSON API and only it: no HTML page, every
route with its response schema and the error responses it can give (one error model)."""

from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

# What each API operation documents besides its success: (method, path) → error codes.
EXPECTED_ERRORS = {
    ("post", "/api/v1/login"): {401, 413, 422, 429},
    ("post", "/api/v1/logout"): {401, 403},
    ("get", "/api/v1/patients"): {401},
    ("get", "/api/v1/patients/{patient_id}"): {401, 404},
    ("get", "/api/v1/patients/{patient_id}/interrogations"): {401, 404},
    ("get", "/api/v1/patients/{patient_id}/interrogations/{interrogation_id}"): {401, 404},
    ("get", "/api/v1/calendar"): {401, 422},
    ("get", "/api/v1/worklist"): {401, 422},
    ("get", "/api/v1/audit"): {401, 403, 422},
    ("get", "/api/v1/alarms"): {401, 404},
    ("get", "/api/v1/patients/{patient_id}/assessments"): {401, 404},
    ("post", "/api/v1/patients/{patient_id}/assessments"): {401, 403, 404, 409, 413, 422},
    ("post", "/api/v1/alarms/{alarm_id}/acknowledge"): {401, 403, 404},
    ("post", "/api/v1/alarms/{alarm_id}/resolve"): {401, 403, 404, 413, 422},
    ("post", "/api/v1/patients/{patient_id}/refills"): {401, 403, 404, 409, 413, 422},
    ("post", "/api/v1/patients/{patient_id}/program"): {401, 403, 404, 409, 413, 422},
    ("get", "/api/v1/patients/{patient_id}/stimulators"): {401, 404},
    ("post", "/api/v1/patients"): {401, 403, 413, 422},
    ("get", "/api/v1/registry"): {401, 422},
    ("get", "/api/v1/patients/{patient_id}/registration"): {401, 404},
    ("put", "/api/v1/patients/{patient_id}/registration"): {401, 403, 404, 409, 413, 422},
    ("post", "/api/v1/patients/{patient_id}/procedures"): {401, 403, 404, 409, 413, 422},
    ("post", "/api/v1/patients/{patient_id}/complications"): {401, 403, 404, 409, 413, 422},
    ("get", "/api/v1/implant-links"): {401},
    ("get", "/api/v1/reports/refill/{patient_id}/{refill_id}"): {401, 404},
    ("get", "/api/v1/reports/session/{patient_id}/{session_id}"): {401, 404},
    ("get", "/api/v1/reports/summary/{patient_id}"): {401, 404},
    ("get", "/api/v1/reports/worksheet/{day}"): {401, 422},
    ("get", "/api/v1/reports/csv/{table}"): {401, 403, 422},
    ("get", "/api/v1/fhir/Patient/{patient_id}/$everything"): {401, 404},
    ("put", "/api/v1/implant-links/{serial}"): {401, 403, 404, 413, 422},
    ("post", "/api/v1/patients/{patient_id}/stimulators/{device_id}/impedances"): {
        401,
        403,
        404,
        409,
        413,
        422,
    },
}


def _spec(client: TestClient) -> dict[str, Any]:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def test_openapi_lists_every_api_route_and_no_html_route(client: TestClient) -> None:
    spec = _spec(client)
    listed = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert listed == set(EXPECTED_ERRORS)
    app = client.app
    for route in app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and not route.path.startswith("/api/"):
            assert not route.include_in_schema, route.path  # an HTML page


def test_every_api_route_has_a_response_schema_and_its_error_codes(client: TestClient) -> None:
    spec = _spec(client)
    for (method, path), errors in EXPECTED_ERRORS.items():
        op = spec["paths"][path][method]
        codes = {int(c) for c in op["responses"]}
        ok = {200, 201} & codes
        assert len(ok) == 1, (path, codes)
        content = op["responses"][str(ok.pop())]["content"]
        # A JSON model, or a file download (PDF report, CSV table) declared as binary.
        media = next(m for m in ("application/json", "application/pdf",
                                 "text/csv; charset=utf-8") if m in content)  # fmt: skip
        schema = content[media]["schema"]
        assert schema and schema != {}, path  # a declared model, not "any JSON"
        assert errors <= codes, (method, path, errors - codes)
        for code in errors:
            content = op["responses"][str(code)]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/ErrorOut"}, (path, code)


def test_responses_follow_their_models(client: TestClient) -> None:
    """The models describe what the routes send: the patient detail keeps its fields, and a
    finding's ``override_by`` stays absent when it does not apply (as before the models)."""
    r = client.post("/api/v1/login", json={"username": "viewer", "password": "demo-viewer"})
    assert set(r.json()) == {"username", "role", "csrf"}
    cal = client.get("/api/v1/calendar").json()
    pid = next(e["patient_id"] for e in cal["entries"] if e["due"])
    p = client.get(f"/api/v1/patients/{pid}").json()
    assert set(p) == {"id", "mrn", "name", "version", "devices", "prescription", "refills"}
    findings = [f for r in p["refills"] for f in r["findings"]]
    assert all(("override_by" in f) == (f["level"] == "soft") for f in findings)
    r = client.get("/api/v1/patients/no-such-patient")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
