"""Registration pages (issue 13): the patient list with search, the new-patient form (success
message after a 303, 422 naming the field and keeping the input), the device/procedure and
complication forms, and a viewer who sees no write button and is refused 403."""

import re

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login
from thecal.api.context import AppContext
from thecal.units import field_label

NEW = {
    "mrn": "WEB-1",
    "name": "Synthetic Webb",
    "date_of_birth": "1955-06-07",
    "sex": "female",
    "dx:ckd": "on",
    "ckd_stage": "G4",
    "dx:diabetes": "on",
    "contact": "",
}


def _register(client: TestClient, **over: str) -> str:
    token = csrf_of(client, "/patients/new")
    r = client.post("/patients/new", data={**NEW, **over, "csrf": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"/patients/([0-9a-f]{32})/registration\?saved=patient", r.headers["location"])
    assert m, r.headers["location"]
    return m.group(1)


def test_list_search_and_new_patient(client: TestClient) -> None:
    login(client, "nurse")
    page = client.get("/patients")
    assert page.status_code == 200 and 'href="/patients/new"' in page.text
    assert "SEED-000" in page.text
    assert "SEED-000" not in client.get("/patients", params={"q": "zzz-nobody"}).text
    pid = _register(client)
    shown = client.get(f"/patients/{pid}/registration?saved=patient")
    assert 'class="flash" role="status"' in shown.text and "Patient registered." in shown.text
    assert "ckd:G4; diabetes" in shown.text
    found = client.get("/patients", params={"q": "synthetic WEBB"})
    assert "WEB-1" in found.text and "1 patient(s)" in found.text


def test_refused_input_is_422_naming_the_field_and_keeps_the_form(client: TestClient) -> None:
    login(client, "nurse")
    token = csrf_of(client, "/patients/new")
    r = client.post("/patients/new", data={**NEW, "date_of_birth": "2999-01-01", "csrf": token})
    assert r.status_code == 422 and field_label("patient.date_of_birth") in r.text
    assert 'value="Synthetic Webb"' in r.text  # what was typed is kept
    r = client.post("/patients/new", data={**NEW, "mrn": "SEED-000", "csrf": token})
    assert (
        r.status_code == 422
        and field_label("patient.mrn") in r.text
        and "already registered" in r.text
    )
    r = client.post("/patients/new", data={**NEW, "csrf": "wrong"})
    assert r.status_code == 403
    assert "0 patient(s)" in client.get("/patients", params={"q": "WEB-1"}).text


def test_procedure_and_complication_forms(client: TestClient, ctx: AppContext) -> None:
    login(client, "physician")
    pid = _register(client)
    form_url = f"/patients/{pid}/procedures/new"
    page = client.get(form_url)
    assert page.status_code == 200 and '<span class="unit">cm</span>' in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    token = csrf_of(client, form_url)
    base = {
        "csrf": token,
        "version": version,
        "kind": "implant",
        "performed_on": "2026-11-20",
        "device_kind": "catheter",
        "model": "Prometra catheter",
        "tip_level": "T10",
    }
    r = client.post(form_url, data={**base, "length": "120"})  # longer than the 110 cm catheter
    assert r.status_code == 422 and field_label("device.length") in r.text
    r = client.post(form_url, data={**base, "length": "45"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=procedure")
    shown = client.get(r.headers["location"]).text
    assert "Procedure recorded." in shown and "tip T10" in shown and "45 cm" in shown
    r = client.post(form_url, data={**base, "length": "45"})  # the same version again
    assert r.status_code == 409
    comp_url = f"/patients/{pid}/complications/new"
    version = re.search(r'name="version" value="(\d+)"', client.get(comp_url).text).group(1)  # type: ignore[union-attr]
    data = {"csrf": token, "version": version, "code": "other", "occurred_on": "2026-11-22"}
    r = client.post(comp_url, data=data)
    assert r.status_code == 422 and field_label("complication.notes") in r.text
    r = client.post(comp_url, data={**data, "notes": "wound check"}, follow_redirects=False)
    assert r.status_code == 303
    assert "wound check" in client.get(r.headers["location"]).text


def test_viewer_sees_no_write_button_and_is_refused(client: TestClient, ctx: AppContext) -> None:
    login(client, "viewer")
    page = client.get("/patients")
    assert page.status_code == 200 and "/patients/new" not in page.text
    assert client.get("/patients/new").status_code == 403
    token = csrf_of(client, "/patients")
    r = client.post("/patients/new", data={**NEW, "csrf": token})
    assert r.status_code == 403
    pid = next(p.id for p in ctx.services.patients() if p.mrn == "SEED-000")
    shown = client.get(f"/patients/{pid}/registration")
    assert shown.status_code == 200 and "Add device" not in shown.text
    assert client.get(f"/patients/{pid}/procedures/new").status_code == 403
    data = {"csrf": token, "version": "1", "code": "seroma", "occurred_on": "2026-11-22"}
    assert client.post(f"/patients/{pid}/complications/new", data=data).status_code == 403


def test_edit_registration(client: TestClient) -> None:
    login(client, "nurse")
    pid = _register(client)
    url = f"/patients/{pid}/registration/edit"
    page = client.get(url)
    assert page.status_code == 200 and 'value="Synthetic Webb"' in page.text
    assert 'name="dx:ckd" checked' in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    token = csrf_of(client, url)
    data = {**NEW, "csrf": token, "version": version, "name": "Webb Renamed", "dx:ckd": ""}
    r = client.post(url, data={**data, "sex": "x"})
    assert r.status_code == 422 and field_label("patient.sex") in r.text
    r = client.post(url, data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=updated")
    shown = client.get(r.headers["location"]).text
    assert "Registration saved." in shown and "Webb Renamed" in shown and "ckd" not in shown
    assert client.post(url, data=data).status_code == 409  # the version read before the edit
    login(client, "viewer")
    assert client.get(url).status_code == 403
