"""The login failure limit is kept in the database (migration 0012): failures made through one
app instance (one ``--workers`` process) count in another on the same database, with the same
edges as in one process (tests/web/test_login_throttle.py). SQLite file and PostgreSQL."""

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from thecal.adapters.composition import build_services
from thecal.api.context import AppContext, default_web_limits
from thecal.api.security import LoginThrottle, LoginThrottled, hash_password
from thecal.clinic.model import Role, User
from thecal.store.database import make_engine
from thecal.store.login_schema import SqlLoginFailures
from thecal.store.uow import SqlUnitOfWork
from thecal.web.app import create_app

NOW = datetime(2026, 11, 23, 10, 0)
ATTACKER = ("203.0.113.7", 40000)  # TEST-NET-3 (RFC 5737)
DESK = ("198.51.100.20", 40001)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _instance(engine: Engine, clock: Clock, client: tuple[str, int]) -> TestClient:
    """One worker: its own engine (connection pool) on the shared database."""
    services = build_services(engine=engine, clock=clock, migrate=False)
    return TestClient(create_app(AppContext(services, b"shared-secret")), client=client)


def _login(client: TestClient, password: str) -> int:
    r = client.post("/api/v1/login", json={"username": "nurse", "password": password})
    return r.status_code


def test_failures_in_one_worker_count_in_another(uow: SqlUnitOfWork, engine: Engine) -> None:
    with uow.transaction("setup", NOW, "test user") as repo:
        repo.add_user(User("nurse", "Nurse", Role.NURSE))
        repo.set_password_hash("nurse", hash_password("pw-nurse"))  # type: ignore[attr-defined]
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    clock = Clock()
    try:
        a = _instance(engine, clock, ATTACKER)
        b = _instance(other_engine, clock, ATTACKER)
        limit = default_web_limits().login_failures_per_address  # 10 (clinic.toml)
        for i in range(limit):  # alternate workers, as a load balancer would
            assert _login(a if i % 2 else b, "wrong") == 401
        # The limit is reached across both: each worker refuses the next attempt.
        assert _login(a, "pw-nurse") == 429 and _login(b, "pw-nurse") == 429
        # Another address is not affected, on either worker.
        assert _login(_instance(other_engine, clock, DESK), "pw-nurse") == 200
        # A restarted worker (new engine) still refuses the address.
        restarted = make_engine(engine.url.render_as_string(hide_password=False))
        try:
            assert _login(_instance(restarted, clock, ATTACKER), "pw-nurse") == 429
        finally:
            restarted.dispose()
    finally:
        other_engine.dispose()


def test_edges_and_pruning_on_the_database(uow: SqlUnitOfWork) -> None:
    clock = Clock()
    store = SqlLoginFailures(uow.engine)
    window = timedelta(minutes=15)
    first = LoginThrottle(clock, 3, window, failures=store)
    second = LoginThrottle(clock, 3, window, failures=SqlLoginFailures(uow.engine))
    first.failed("203.0.113.7")  # at 10:00
    clock.now = NOW + timedelta(minutes=1)
    second.failed("203.0.113.7")  # at 10:01
    first.check("203.0.113.7")  # 2 failures, one below the limit of 3: let in
    clock.now = NOW + timedelta(minutes=2)
    second.failed("203.0.113.7")  # at 10:02: the 3rd
    with pytest.raises(LoginThrottled) as refused:
        first.check("203.0.113.7")  # 3 failures within 15 minutes, on either instance
    # The oldest (10:00) leaves the window at 10:15; now 10:02 -> 13 min = 780 s.
    assert refused.value.retry_after == 13 * 60
    # At exactly 10:15 the failure at 10:00 is window old: no longer counts (2 left).
    clock.now = NOW + window
    first.check("203.0.113.7")
    second.check("203.0.113.7")
    # Old rows are pruned by the next failure (any address): 10:00 is at the cutoff.
    assert store.count() == 3
    first.failed("198.51.100.20")
    assert store.count() == 3  # 10:01, 10:02, and the new one at 10:15
    clock.now = NOW + window + timedelta(minutes=2)
    first.failed("198.51.100.20")  # cutoff 10:02: 10:01 and 10:02 go
    assert store.count() == 2


def test_long_addresses_do_not_share_a_count(uow: SqlUnitOfWork) -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, 1, timedelta(minutes=15), failures=SqlLoginFailures(uow.engine))
    long_a, long_b = "a" * 64 + "1", "a" * 64 + "2"  # equal in their first 64 characters
    throttle.failed(long_a)
    throttle.check(long_b)  # not refused: stored as distinct hashes
    with pytest.raises(LoginThrottled):
        throttle.check(long_a)
