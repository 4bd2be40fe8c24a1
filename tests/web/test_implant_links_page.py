"""The /implants page: a physician registers a link with a clinician key file (the key never
shown), a nurse may not, a bad key file or address is refused naming the field."""

import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login
from thecal.api.context import AppContext
from thecal.clinic.workflows import pump_in_place
from thecal.link.keystore import export_role_credential, provision_implant
from thecal.link.roles import Role
from thecal.units import field_label


def _pump_serial(ctx: AppContext) -> str:
    with ctx.uow.reader() as repo:
        p = next(p for p in repo.list_patients() if p.mrn == "DEMO-0001")
        pump = pump_in_place(repo, p.id)
    assert pump is not None
    return pump.serial


def _key_file(tmp_path: Path, serial: str) -> bytes:
    secret = provision_implant(tmp_path / "implant.key", serial)
    export_role_credential(secret, Role.CLINICIAN, tmp_path / "clinician.key")
    return (tmp_path / "clinician.key").read_bytes()


def _post(client: TestClient, data: dict[str, str], key: bytes | None) -> object:
    files = {"key_file": ("clinician.key", key, "application/json")} if key is not None else None
    return client.post("/implants/link", data={"csrf": csrf_of(client, "/implants"), **data},
                       files=files, follow_redirects=False)  # fmt: skip


def test_physician_registers_a_link_and_the_key_is_never_shown(
    client: TestClient, ctx: AppContext, tmp_path: Path
) -> None:
    serial = _pump_serial(ctx)
    key = _key_file(tmp_path, serial)
    login(client, "physician")
    assert "no link" in client.get("/implants").text
    r = _post(client, {"serial": serial, "address": "127.0.0.1:7001", "reason": "new"}, key)
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    page = client.get(r.headers["location"]).text  # type: ignore[attr-defined]
    assert f"Link of implant {serial} saved" in page and "127.0.0.1:7001" in page
    hexkey = json.loads(key)["key"]
    assert hexkey not in page and "sha256:" in page
    (link,) = ctx.services.implant_links.list()
    assert link.serial == serial and link.by == "physician"
    assert ctx.uow.verify_audit().ok


def test_nurse_sees_no_form_and_is_refused(
    client: TestClient, ctx: AppContext, tmp_path: Path
) -> None:
    serial = _pump_serial(ctx)
    login(client, "nurse")
    assert "Only a physician" in client.get("/implants").text
    r = _post(client, {"serial": serial, "address": "127.0.0.1:7001", "reason": "x"},
              _key_file(tmp_path, serial))  # fmt: skip
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert ctx.services.implant_links.list() == ()


def test_bad_inputs_refused_naming_the_field(
    client: TestClient, ctx: AppContext, tmp_path: Path
) -> None:
    serial = _pump_serial(ctx)
    key = _key_file(tmp_path, serial)
    login(client, "physician")
    good = {"serial": serial, "address": "127.0.0.1:7001", "reason": "x"}
    for data, upload, field in [
        ({**good, "address": "10.1.2.3:7001"}, key, "implant_link.address"),
        ({**good, "address": "127.0.0.1:0"}, key, "implant_link.address"),
        (good, b"not json", "implant_link.key_file"),
        (good, key.replace(b'"clinician"', b'"patient"'), "implant_link.key_file"),
        (good, None, "implant_link.key_file"),
        ({**good, "serial": "OTHER"}, key, "implant_link.key"),
    ]:
        r = _post(client, data, upload)
        assert r.status_code == 422 and field_label(field) in r.text, (data, r.text)  # type: ignore[attr-defined]
    assert ctx.services.implant_links.list() == ()
