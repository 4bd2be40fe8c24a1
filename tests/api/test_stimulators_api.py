"""``GET /api/v1/patients/{id}/stimulators`` and ``POST .../stimulators/{device_id}/impedances``:
the summary with impedance history, a recorded set changing the trend, and the errors."""

from fastapi.testclient import TestClient

from thecal.api.context import AppContext


def _login(client: TestClient, who: str) -> str:
    r = client.post("/api/v1/login", json={"username": who, "password": f"demo-{who}"})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def _pid(ctx: AppContext, mrn: str) -> str:
    return next(p.id for p in ctx.services.patients() if p.mrn == mrn)


def test_summary(client: TestClient, ctx: AppContext) -> None:
    pid = _pid(ctx, "SEED-000")
    url = f"/api/v1/patients/{pid}/stimulators"
    assert client.get(url).status_code == 401
    _login(client, "viewer")
    body = client.get(url).json()
    current, old = body["stimulators"]
    assert current["removed_on"] is None and old["removed_on"] == "2023-02-14"
    assert current["leads"][0]["model"] == "Vectris 977A2"
    # 3.5 mA x 300 us = 1.05 uC per phase on the cathode.
    cathode = next(c for c in current["contacts"] if c["polarity"] == "cathode")
    assert cathode["charge"] == {"value": 1.05, "unit": "uC"}
    trend = {t["contact"]: t["points"] for t in old["impedance"]}
    assert set(trend) == {"L1:0", "L1:1", "L1:2", "L1:3"}
    assert trend["L1:0"][0]["impedance"]["unit"] == "Ohm"
    assert "STIM-IMPEDANCE-RISING" in {f["code"] for f in old["findings"]}
    assert current["battery"]["kind"] == "primary" and current["battery"]["typical_end"]
    assert client.get("/api/v1/patients/nobody/stimulators").status_code == 404


def test_record_impedances(client: TestClient, ctx: AppContext) -> None:
    pid = _pid(ctx, "SEED-001")
    url = f"/api/v1/patients/{pid}/stimulators"
    token = _login(client, "nurse")
    stim = client.get(url).json()["stimulators"][0]
    version = client.get(f"/api/v1/patients/{pid}").json()["version"]
    post = f"{url}/{stim['device_id']}/impedances"
    body = {"values": [{"contact": "L1:0", "impedance": {"value": 2400, "unit": "Ohm"}},
                       {"contact": "L1:1", "impedance": {"value": 2.5, "unit": "kOhm"}}],
            "source": "manual", "patient_version": version}  # fmt: skip
    r = client.post(post, json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text
    assert r.json()["values"][1]["impedance"] == {"value": 2500.0, "unit": "Ohm"}
    after = client.get(url).json()["stimulators"][0]
    last = {t["contact"]: t["points"][-1] for t in after["impedance"]}
    assert last["L1:0"]["impedance"]["value"] == 2400.0
    # The same version again: someone (this nurse) wrote since: 409, nothing saved.
    assert client.post(post, json=body, headers={"X-CSRF-Token": token}).status_code == 409
    body["patient_version"] = version + 1
    bad = {**body, "values": [{"contact": "L1:0", "impedance": {"value": 0, "unit": "Ohm"}}]}
    r = client.post(post, json=bad, headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and "impedances.values[0].impedance" in r.text
    bad = {**body, "values": [{"contact": "L1:0", "impedance": {"value": 5, "unit": "mA"}}]}
    assert client.post(post, json=bad, headers={"X-CSRF-Token": token}).status_code == 422
    r = client.post(f"{url}/nope/impedances", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 404
    assert client.post(post, json=body).status_code == 403  # no CSRF token


def test_record_an_open_circuit(client: TestClient, ctx: AppContext) -> None:
    pid = _pid(ctx, "SEED-001")
    url = f"/api/v1/patients/{pid}/stimulators"
    token = _login(client, "nurse")
    stim = client.get(url).json()["stimulators"][0]
    version = client.get(f"/api/v1/patients/{pid}").json()["version"]
    post = f"{url}/{stim['device_id']}/impedances"
    # Without a number and without the flag: refused, naming the field; nothing saved.
    body = {"values": [{"contact": "L1:0"}], "patient_version": version}
    r = client.post(post, json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and "impedances.values[0].impedance" in r.text
    body = {"values": [{"contact": "L1:0", "open_circuit": True},
                       {"contact": "L1:1", "impedance": {"value": 900, "unit": "Ohm"}}],
            "patient_version": version}  # fmt: skip
    r = client.post(post, json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text
    assert r.json()["values"][0] == {"contact": "L1:0", "impedance": None, "open_circuit": True}
    after = client.get(url).json()["stimulators"][0]
    trend = {t["contact"]: t for t in after["impedance"]}
    assert trend["L1:0"]["open_now"] and len(trend["L1:0"]["open_circuits"]) == 1
    assert not trend["L1:1"]["open_now"]
    opened = [f for f in after["findings"] if f["code"] == "STIM-IMPEDANCE-OPEN"]
    assert [f["level"] for f in opened] == ["hard"] and "L1:0" in opened[0]["message"]


def test_viewer_may_not_record(client: TestClient, ctx: AppContext) -> None:
    pid = _pid(ctx, "SEED-001")
    token = _login(client, "viewer")
    stim = client.get(f"/api/v1/patients/{pid}/stimulators").json()["stimulators"][0]
    body = {"values": [{"contact": "L1:0", "impedance": {"value": 900, "unit": "Ohm"}}],
            "patient_version": 1}  # fmt: skip
    r = client.post(f"/api/v1/patients/{pid}/stimulators/{stim['device_id']}/impedances",
                    json=body, headers={"X-CSRF-Token": token})  # fmt: skip
    assert r.status_code == 403


def test_openapi_documents_the_routes(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    post = spec["paths"]["/api/v1/patients/{patient_id}/stimulators/{device_id}/impedances"]
    assert {"201", "401", "403", "404", "409", "422"} <= set(post["post"]["responses"])
    get = spec["paths"]["/api/v1/patients/{patient_id}/stimulators"]["get"]
    assert "StimulatorsOut" in str(get["responses"]["200"])
