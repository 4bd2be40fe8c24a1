"""Failed logins throttle the client address, never the account (clinic.toml [web]): after N
failures from one address within the window that address gets 429 with Retry-After and a
message saying how long; the real user from another address still logs in."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of
from thecal.adapters.data_files import packaged
from thecal.api.context import AppContext
from thecal.api.limits import build_web_limits
from thecal.units import InputError
from thecal.web.app import create_app

ATTACKER = ("203.0.113.7", 40000)  # TEST-NET-3 addresses (RFC 5737)
NURSE_DESK = ("198.51.100.20", 40001)


def _web_login(client: TestClient, password: str) -> int:
    token = csrf_of(client)
    r = client.post("/login", data={"username": "nurse", "password": password, "csrf": token},
                    follow_redirects=False)  # fmt: skip
    return r.status_code


def test_clinic_toml_states_the_throttle_as_product_choices(ctx: AppContext) -> None:
    limits = ctx.limits
    assert limits.login_failures_per_address == 10
    assert limits.login_failure_window == timedelta(minutes=15)
    for source in (limits.login_failures_per_address_source, limits.login_failure_window_source,
                   limits.max_request_body_bytes_source):  # fmt: skip
        assert source.startswith("product choice")
    data = packaged("clinic.toml")
    del data["web"]["login_failure_window_source"]
    with pytest.raises(InputError, match=r"x: web\.login_failure_window_source"):
        build_web_limits("x", data)


def test_failures_throttle_the_address_not_the_user(ctx: AppContext) -> None:
    n = ctx.limits.login_failures_per_address
    attacker = TestClient(create_app(ctx), client=ATTACKER)
    for _ in range(n):  # N failures are answered 401 ...
        assert _web_login(attacker, "wrong") == 401
    # ... the (N+1)th attempt from that address is refused, even with the right password.
    token = csrf_of(attacker)
    r = attacker.post("/login", data={"username": "nurse", "password": "demo-nurse",
                                      "csrf": token}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 429
    assert r.headers["Retry-After"] == str(15 * 60)  # all N failures at 10:00; window 15 min
    assert "try again in 15 minutes" in r.text
    # The API answers the same address the same way.
    api = attacker.post("/api/v1/login", json={"username": "physician", "password": "x"})
    assert api.status_code == 429 and api.headers["Retry-After"] == str(15 * 60)
    assert "try again in 15 minutes" in api.json()["detail"]
    # The real nurse at her desk logs in (web and API): she is not locked out.
    desk = TestClient(create_app(ctx), client=NURSE_DESK)
    assert _web_login(desk, "demo-nurse") == 303
    ok = desk.post("/api/v1/login", json={"username": "nurse", "password": "demo-nurse"})
    assert ok.status_code == 200


def test_throttle_edges_one_below_and_the_window_end(ctx: AppContext) -> None:
    n = ctx.limits.login_failures_per_address
    attacker = TestClient(create_app(ctx), client=ATTACKER)
    start = ctx.clock.now  # type: ignore[attr-defined]
    for i in range(n - 1):
        ctx.clock.now = start + timedelta(minutes=i)  # type: ignore[attr-defined]
        assert _web_login(attacker, "wrong") == 401
    # N - 1 failures: the address may still log in (one below the limit).
    assert _web_login(attacker, "demo-nurse") == 303
    ctx.clock.now = start + timedelta(minutes=n - 1)  # type: ignore[attr-defined]
    assert _web_login(attacker, "wrong") == 401  # the Nth failure, at start + (N-1) min
    r = attacker.post("/api/v1/login", json={"username": "nurse", "password": "demo-nurse"})
    # The oldest failure (at start) leaves the window at start + 15 min: 15 - (N-1) min left.
    assert r.status_code == 429 and r.headers["Retry-After"] == str((15 - (n - 1)) * 60)
    # At exactly start + 15 min the oldest failure no longer counts: N - 1 left, let in.
    ctx.clock.now = start + timedelta(minutes=15)  # type: ignore[attr-defined]
    assert _web_login(attacker, "demo-nurse") == 303


def test_memory_failures_have_the_same_edges_and_forget_old_addresses() -> None:
    # The default store (one process): the same edges as the database's
    # (tests/integration/test_login_limit_shared.py), bounded by max_addresses.
    from datetime import datetime

    from thecal.api.security import LoginThrottle, LoginThrottled

    now = [datetime(2026, 11, 23, 10, 0)]
    throttle = LoginThrottle(lambda: now[0], 2, timedelta(minutes=15), max_addresses=2)
    throttle.failed("a")
    now[0] += timedelta(minutes=1)
    throttle.failed("a")  # 2 failures at 10:00 and 10:01: refused until 10:15
    with pytest.raises(LoginThrottled) as refused:
        throttle.check("a")
    assert refused.value.retry_after == 14 * 60  # 10:15 - 10:01
    now[0] = datetime(2026, 11, 23, 10, 15)  # the 10:00 failure is exactly window old
    throttle.check("a")
    throttle.failed("b")
    throttle.failed("c")  # a third address: the least recently failing ("a") is forgotten
    throttle.failed("a")
    throttle.check("a")  # one failure remembered, not two
