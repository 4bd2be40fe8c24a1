"""Logout is stored in the database: a session logged out through one app instance (one
``--workers`` process) is refused by another on the same database, and after a restart.
SQLite file and PostgreSQL."""

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from thecal.adapters.composition import build_services
from thecal.api.context import AppContext
from thecal.api.security import SESSION_COOKIE, hash_password
from thecal.clinic.model import Role, User
from thecal.store.database import make_engine
from thecal.store.session_schema import SqlRevocations
from thecal.store.uow import SqlUnitOfWork
from thecal.web.app import create_app

NOW = datetime(2026, 11, 23, 10, 0)


def _instance(engine: Engine) -> tuple[AppContext, TestClient]:
    """One worker: its own engine (connection pool) on the shared database, the shared secret."""
    services = build_services(engine=engine, clock=lambda: NOW, migrate=False)
    ctx = AppContext(services, b"shared-secret")
    return ctx, TestClient(create_app(ctx))


def _same_database(engine: Engine) -> Engine:
    return make_engine(engine.url.render_as_string(hide_password=False))


def test_logout_in_one_worker_is_refused_by_another(uow: SqlUnitOfWork, engine: Engine) -> None:
    with uow.transaction("setup", NOW, "test user") as repo:
        repo.add_user(User("nurse", "Nurse", Role.NURSE))
        repo.set_password_hash("nurse", hash_password("pw-nurse"))  # type: ignore[attr-defined]
    other_engine = _same_database(engine)
    restarted_engine = _same_database(engine)
    try:
        first, a = _instance(engine)
        second, b = _instance(other_engine)
        r = a.post("/api/v1/login", json={"username": "nurse", "password": "pw-nurse"})
        assert r.status_code == 200, r.text
        token, cookie = r.json()["csrf"], a.cookies[SESSION_COOKIE]
        b.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")
        assert b.get("/api/v1/patients").status_code == 200  # the other worker accepts it

        r = a.post("/api/v1/logout", headers={"X-CSRF-Token": token})
        assert r.status_code == 200, r.text
        assert b.get("/api/v1/patients").status_code == 401  # ... and refuses it now
        assert first.sessions.revoked_count == second.sessions.revoked_count == 1

        # A restarted server (a new process, a new engine) still refuses it.
        _, c = _instance(restarted_engine)
        c.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")
        assert c.get("/api/v1/patients").status_code == 401
    finally:
        other_engine.dispose()
        restarted_engine.dispose()


def test_revocations_are_forgotten_once_past_their_time(uow: SqlUnitOfWork) -> None:
    store = SqlRevocations(uow.engine)
    store.revoke("a", NOW + timedelta(hours=1), NOW)
    store.revoke("a", NOW + timedelta(hours=1), NOW)  # a second logout (two tabs): no error
    store.revoke("b", NOW + timedelta(hours=2), NOW)
    assert store.is_revoked("a") and store.is_revoked("b") and not store.is_revoked("c")
    assert store.count() == 2
    # Edge: a row whose time is exactly now is past it (the session's max age ends it anyway).
    store.revoke("c", NOW + timedelta(hours=3), NOW + timedelta(hours=1))
    assert not store.is_revoked("a") and store.is_revoked("b") and store.count() == 2
