"""``/api/v1/implant-links``: a physician registers a link with the key file's document; the
key is never returned; a nurse is refused; bad input names the field."""

import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.test_api import _login
from thecal.api.context import AppContext
from thecal.clinic.workflows import pump_in_place
from thecal.link.keystore import export_role_credential, provision_implant
from thecal.link.roles import Role


def _setup(ctx: AppContext, tmp_path: Path) -> tuple[str, dict[str, object]]:
    with ctx.uow.reader() as repo:
        p = next(p for p in repo.list_patients() if p.mrn == "DEMO-0001")
        pump = pump_in_place(repo, p.id)
    assert pump is not None
    secret = provision_implant(tmp_path / "implant.key", pump.serial)
    export_role_credential(secret, Role.CLINICIAN, tmp_path / "clinician.key")
    return pump.serial, json.loads((tmp_path / "clinician.key").read_text())


def test_physician_registers_and_lists_without_the_key(
    client: TestClient, ctx: AppContext, tmp_path: Path
) -> None:
    serial, doc = _setup(ctx, tmp_path)
    token = _login(client, "physician")
    body = {"address": "127.0.0.1:7001", "key_file": doc, "reason": "virtual implant"}
    r = client.put(f"/api/v1/implant-links/{serial}", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    assert r.json()["address"] == "127.0.0.1:7001" and r.json()["key_id"].startswith("sha256:")
    listed = client.get("/api/v1/implant-links")
    assert [x["serial"] for x in listed.json()] == [serial]
    assert str(doc["key"]) not in r.text + listed.text


def test_nurse_refused_and_bad_input_named(
    client: TestClient, ctx: AppContext, tmp_path: Path
) -> None:
    serial, doc = _setup(ctx, tmp_path)
    token = _login(client, "nurse")
    body = {"address": "127.0.0.1:7001", "key_file": doc, "reason": "x"}
    headers = {"X-CSRF-Token": token}
    assert client.put(f"/api/v1/implant-links/{serial}", json=body,
                      headers=headers).status_code == 403  # fmt: skip
    token = _login(client, "physician")
    headers = {"X-CSRF-Token": token}
    for change, field in [({"address": "127.0.0.1:99999"}, "implant_link.address"),
                          ({"key_file": {**doc, "key": "zz"}}, "key_file")]:  # fmt: skip
        r = client.put(f"/api/v1/implant-links/{serial}", json={**body, **change},
                       headers=headers)  # fmt: skip
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == field, r.text
    r = client.put("/api/v1/implant-links/NO-SUCH", json=body, headers=headers)
    assert r.status_code == 422  # the key is for another implant
    assert client.get("/api/v1/implant-links").json() == []
