"""The lost update the attack review found, on SQLite and PostgreSQL: a web form opened
before an API write must not silently overwrite it. Every write moves the patient's version
on; the API requires ``patient_version`` (422 without, 409 when stale)."""

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.unit.clinic.conftest import FakeClock, setup_patient
from tests.web.conftest import csrf_of, version_of
from thecal.adapters.composition import build_services
from thecal.api.context import AppContext
from thecal.api.security import hash_password
from thecal.clinic.model import Role, User
from thecal.clinic.workflows import current_prescription
from thecal.store.migrate import upgrade
from thecal.store.repository import SqlRepository
from thecal.store.uow import SqlUnitOfWork
from thecal.web.app import create_app

REFILL = {
    "withdrawn": {"value": 1.6, "unit": "mL"}, "filled": {"value": 20.0, "unit": "mL"},
    "confirmed_after_fill": {"value": 19.8, "unit": "mL"}, "drug_lot": "LOT-API",
}  # fmt: skip  # 60 d at 0.3 mL/d from a 20 mL fill: 2 mL expected (as in test_store)


def _app(engine: Engine, library, catalog) -> tuple[AppContext, str]:
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    patient, _ = setup_patient(uow, clock, library, catalog)
    with uow.transaction("setup", clock(), "test users") as repo:
        assert isinstance(repo, SqlRepository)
        for name, role in (("nurse", Role.NURSE), ("physician", Role.PHYSICIAN)):
            repo.add_user(User(name, name.title(), role))
            repo.set_password_hash(name, hash_password(f"pw-{name}"))
    clock.now = datetime(2024, 3, 2, 9, 0)
    services = build_services(engine=engine, clock=clock, library=library, catalog=catalog,
                              migrate=False)  # fmt: skip
    ctx = AppContext(services, b"s")
    return ctx, patient.id


def _api(ctx: AppContext, who: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(ctx), client=(f"10.0.0.{len(who)}", 1))
    r = client.post("/api/v1/login", json={"username": who, "password": f"pw-{who}"})
    assert r.status_code == 200, r.text
    return client, str(r.json()["csrf"])


def test_web_form_opened_before_an_api_write_is_refused(engine: Engine, library, catalog):
    ctx, pid = _app(engine, library, catalog)
    # The physician opens a program change on the web and reaches the confirmation step.
    web = TestClient(create_app(ctx), client=("10.0.0.1", 1))
    token = csrf_of(web)
    r = web.post("/login", data={"username": "physician", "password": "pw-physician",
                                 "csrf": token}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    form = {"csrf": csrf_of(web, f"/patients/{pid}/program"), "dose": "2.5 mg/d",
            "reason": "less sedation"}  # fmt: skip
    preview = web.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
    assert preview.status_code == 200, preview.text
    opened = version_of(preview.text)
    # Meanwhile a nurse records a refill through the API on the version she read.
    api, csrf = _api(ctx, "nurse")
    version = api.get(f"/api/v1/patients/{pid}").json()["version"]
    assert str(version) == opened["version"]
    url = f"/api/v1/patients/{pid}/refills"
    missing = api.post(url, json=REFILL, headers={"X-CSRF-Token": csrf})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "patient_version"
    stored = api.post(url, json={**REFILL, "patient_version": version},
                      headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert stored.status_code == 201, stored.text
    assert api.get(f"/api/v1/patients/{pid}").json()["version"] == version + 1
    # The API write moved the version on: the web confirmation built before it is refused.
    confirm = web.post(f"/patients/{pid}/program",
                       data={**form, **opened, "step": "confirm"})  # fmt: skip
    assert confirm.status_code == 409
    assert "changed by someone else" in confirm.text
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, pid)
        assert rx is not None and rx.version == 1  # nothing stored
    # And a second API write on the old version is 409 too; nothing stored.
    stale = api.post(url, json={**REFILL, "patient_version": version},
                     headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert stale.status_code == 409
    assert stale.json()["detail"][0]["field"] == "patient.version"
    with ctx.uow.reader() as repo:
        assert len(repo.refills_for(pid)) == 1
    assert ctx.uow.verify_audit().ok
