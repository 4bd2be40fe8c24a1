"""Registration over ``/api/v1`` (issue 13): register, search, update with the patient version,
procedures with devices and leads, complications; 422 naming the field with nothing written,
403 for a viewer and without CSRF, 404 and 409."""

from fastapi.testclient import TestClient

PATIENT = {"mrn": "API-1", "name": "Synthetic Api", "date_of_birth": "1970-02-03",
           "sex": "male", "diagnoses": ["diabetes", "spasticity:spinal"]}  # fmt: skip


def _login(client: TestClient, who: str) -> dict[str, str]:
    r = client.post("/api/v1/login", json={"username": who, "password": f"demo-{who}"})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": str(r.json()["csrf"])}


def test_register_search_update(client: TestClient) -> None:
    assert client.post("/api/v1/patients", json=PATIENT).status_code == 401
    h = _login(client, "nurse")
    assert client.post("/api/v1/patients", json=PATIENT).status_code == 403  # no CSRF token
    r = client.post("/api/v1/patients", json=PATIENT, headers=h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["diagnoses"] == ["diabetes", "spasticity:spinal"] and made["devices"] == []
    r = client.post("/api/v1/patients", json=PATIENT, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "patient.mrn"
    r = client.post("/api/v1/patients", json={**PATIENT, "mrn": "API-2",
                                               "diagnoses": ["ckd:G9"]}, headers=h)  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "patient.diagnoses[0]"
    page = client.get("/api/v1/registry", params={"q": "synthetic API"}).json()
    assert [p["mrn"] for p in page["patients"]] == ["API-1"] and page["total"] == 1
    assert client.get("/api/v1/registry", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/registry", params={"limit": 501}).status_code == 422
    url = f"/api/v1/patients/{made['id']}/registration"
    body = {**PATIENT, "contact": "ward 3", "patient_version": made["version"]}
    r = client.put(url, json=body, headers=h)
    assert r.status_code == 200 and r.json()["contact"] == "ward 3"
    assert client.put(url, json=body, headers=h).status_code == 409  # stale version
    assert client.get("/api/v1/patients/nobody/registration").status_code == 404


def test_procedures_and_complications(client: TestClient) -> None:
    h = _login(client, "physician")
    made = client.post("/api/v1/patients", json=PATIENT, headers=h).json()
    url = f"/api/v1/patients/{made['id']}"
    implant = {
        "kind": "implant", "performed_on": "2026-11-20", "patient_version": made["version"],
        "placed": [
            {"kind": "pump", "model": "SynchroMed II 8637-40", "serial": "X1",
             "udi": "(01)1234", "pocket_side": "right"},
            {"kind": "catheter", "model": "Prometra catheter",
             "length": {"value": 111, "unit": "cm"}, "tip_level": "T10"},
        ],
    }  # fmt: skip
    r = client.post(f"{url}/procedures", json=implant, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "placed[1].length"
    assert client.get(f"{url}/registration").json()["devices"] == []  # nothing written
    implant["placed"][1]["length"] = {"value": 400, "unit": "mm"}  # type: ignore[index]
    r = client.post(f"{url}/procedures", json=implant, headers=h)
    assert r.status_code == 201, r.text
    reg = r.json()
    cath = next(d for d in reg["devices"] if d["kind"] == "catheter")
    # 40 cm x 0.0026 mL/cm = 0.104 mL (Prometra catheter labelling)
    assert cath["length"] == {"value": 40.0, "unit": "cm"}
    assert abs(cath["volume"]["value"] - 0.104) < 1e-9
    pump = next(d for d in reg["devices"] if d["kind"] == "pump")
    assert pump["udi"] == "(01)1234" and pump["pocket_side"] == "right"
    explant = {"kind": "explant", "performed_on": "2026-11-23", "removed": [pump["id"]],
               "patient_version": reg["version"]}  # fmt: skip
    r = client.post(f"{url}/procedures", json=explant, headers=h)
    assert r.status_code == 201 and [p["kind"] for p in r.json()["procedures"]] == [
        "implant", "explant",
    ]  # fmt: skip
    comp = {"code": "infection", "occurred_on": "2026-11-24",
            "patient_version": r.json()["version"]}  # fmt: skip
    r = client.post(f"{url}/complications", json=comp, headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "complication.occurred_on"
    comp["occurred_on"] = "2026-11-23"
    r = client.post(f"{url}/complications", json=comp, headers=h)
    assert r.status_code == 201 and r.json()["complications"][0]["code"] == "infection"


def test_viewer_is_refused(client: TestClient) -> None:
    h = _login(client, "viewer")
    r = client.post("/api/v1/patients", json=PATIENT, headers=h)
    assert r.status_code == 403
    assert client.get("/api/v1/registry", params={"q": "API-1"}).json()["total"] == 0
