"""Server-side session expiry with a moved clock: idle timeout and absolute maximum from
clinic.toml (NIST SP 800-63B sec. 4.2.3: 30 min, 12 h), last-seen refreshed by every signed-in
request, logout revoking the session, for the web pages and the JSON API."""

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login
from thecal.adapters.data_files import packaged
from thecal.api.context import AppContext
from thecal.api.security import SESSION_COOKIE, Session, SessionLifetime, new_session
from thecal.clinic.settings import build_clinic_settings
from thecal.units import Q_, InputError


def _move(ctx: AppContext, minutes: float) -> None:
    ctx.clock.now += timedelta(minutes=minutes)  # type: ignore[attr-defined]


def _page_ok(client: TestClient) -> bool:
    """True when the dashboard answers; False when the visitor is sent to /login."""
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (200, 303), r.text
    return r.status_code == 200 and "Dashboard" in r.text


def _cookie(client: TestClient) -> str:
    return client.cookies[SESSION_COOKIE]


def _session(ctx: AppContext, cookie: str) -> Session | None:
    return ctx.signer.loads(cookie.strip('"'))  # the jar keeps the quoted Set-Cookie value


def _use_cookie(client: TestClient, cookie: str) -> None:
    """Send ``cookie`` as the session cookie from now on (a replayed or forged copy)."""
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")


def _api_login(client: TestClient, who: str) -> str:
    r = client.post("/api/v1/login", json={"username": who, "password": f"demo-{who}"})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def test_clinic_toml_has_the_nist_aal2_times_with_sources(ctx: AppContext) -> None:
    s = ctx.settings
    assert s.session_idle_timeout == Q_(30, "min") and s.session_max_age == Q_(12, "h")
    for source in (s.session_idle_timeout_source, s.session_max_age_source):
        assert "800-63B" in source and "4.2.3" in source and "https://pages.nist.gov" in source
    assert ctx.sessions.idle == timedelta(minutes=30)
    assert ctx.sessions.max_age == timedelta(hours=12)


def test_settings_errors_name_the_field() -> None:
    good = dict(packaged("clinic.toml"))
    for field, value in (("session_idle_timeout", "30 mL"), ("session_max_age", "0 h")):
        with pytest.raises(InputError, match=f"x: {field}"):
            build_clinic_settings("x", {**good, field: value})
    del good["session_max_age_source"]
    with pytest.raises(InputError, match="x: session_max_age_source"):
        build_clinic_settings("x", good)
    good = dict(packaged("clinic.toml"))
    with pytest.raises(InputError, match="longer than session_max_age"):
        build_clinic_settings("x", {**good, "session_idle_timeout": "13 h"})


def test_web_idle_31_minutes_sends_to_login(client: TestClient, ctx: AppContext) -> None:
    login(client, "nurse")
    _move(ctx, 29)
    assert _page_ok(client)  # 29 min idle: still signed in (and last seen moves to now)
    _move(ctx, 31)
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/login").status_code == 200  # a fresh login form works
    login(client, "nurse")
    assert _page_ok(client)


def test_idle_limit_itself_ends_the_session(client: TestClient, ctx: AppContext) -> None:
    # "inactivity lasting 30 minutes or longer": exactly 30 min is too long.
    login(client, "nurse")
    _move(ctx, 30)
    assert not _page_ok(client)


def test_api_idle_31_minutes_is_401(client: TestClient, ctx: AppContext) -> None:
    _api_login(client, "viewer")
    assert client.get("/api/v1/patients").status_code == 200
    _move(ctx, 31)
    r = client.get("/api/v1/patients")
    assert r.status_code == 401 and "log in" in r.json()["detail"]


def test_web_activity_every_20_minutes_lasts_until_12_hours(
    client: TestClient, ctx: AppContext
) -> None:
    start = ctx.clock()
    login(client, "nurse")
    for step in range(1, 36):  # 20 min … 11 h 40 min after the login
        _move(ctx, 20)
        assert _page_ok(client), f"refused {step * 20} min after login"
    _move(ctx, 20)
    assert ctx.clock() - start == timedelta(hours=12)
    assert not _page_ok(client)  # at 12 h, however active


def test_api_activity_every_20_minutes_lasts_until_12_hours(
    client: TestClient, ctx: AppContext
) -> None:
    token = _api_login(client, "nurse")
    for _ in range(35):
        _move(ctx, 20)
        assert client.get("/api/v1/worklist").status_code == 200
    _move(ctx, 20)
    assert client.get("/api/v1/worklist").status_code == 401
    # A write with the old CSRF token is refused too (the session has ended).
    r = client.post("/api/v1/logout", headers={"X-CSRF-Token": token})
    assert r.status_code == 401


def test_each_signed_in_request_resets_last_seen(client: TestClient, ctx: AppContext) -> None:
    login(client, "nurse")
    first = _session(ctx, _cookie(client))
    assert first is not None and first.issued == first.seen == ctx.clock()
    _move(ctx, 20)
    r = client.get("/")
    refreshed = _session(ctx, r.cookies[SESSION_COOKIE])
    assert refreshed is not None
    assert refreshed.seen == ctx.clock() and refreshed.issued == first.issued
    assert (refreshed.sid, refreshed.csrf, refreshed.username) == (
        first.sid, first.csrf, "nurse",
    )  # fmt: skip
    # Static files and anonymous pages do not touch the session.
    assert SESSION_COOKIE not in client.get("/static/htmx.min.js").cookies


def test_web_logged_out_cookie_replayed_is_refused(client: TestClient, ctx: AppContext) -> None:
    login(client, "nurse")
    stolen = _cookie(client)
    token = csrf_of(client, "/")
    _use_cookie(client, stolen)
    assert _page_ok(client)  # the copy works while the session is open
    r = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert ctx.sessions.revoked_count == 1
    _use_cookie(client, stolen)
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 403  # its CSRF token is dead with it


def test_api_logged_out_cookie_replayed_is_refused(client: TestClient, ctx: AppContext) -> None:
    token = _api_login(client, "nurse")
    stolen = _cookie(client)
    _use_cookie(client, stolen)
    assert client.get("/api/v1/patients").status_code == 200  # the copy works until logout
    assert client.post("/api/v1/logout").status_code == 403  # logout needs the CSRF header
    r = client.post("/api/v1/logout", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json() == {"logged_out": "nurse"}
    assert client.get("/api/v1/patients").status_code == 401  # the new cookie is anonymous
    _use_cookie(client, stolen)
    assert client.get("/api/v1/patients").status_code == 401


def test_cookie_without_times_or_with_forged_times_is_refused(
    client: TestClient, ctx: AppContext
) -> None:
    # A correctly signed session from before expiry existed (no id, no times).
    _use_cookie(client, ctx.signer.dumps(Session("nurse", "token")))
    assert client.get("/api/v1/patients").status_code == 401
    # A correctly signed current one is accepted (the cookie reaches the server) ...
    _use_cookie(client, ctx.signer.dumps(new_session("nurse", ctx.clock())))
    assert client.get("/api/v1/patients").status_code == 200
    # ... but the times are inside the signature: moving last-seen forward breaks the MAC.
    _api_login(client, "nurse")
    payload, mac = _cookie(client).strip('"').rsplit(".", 1)
    _move(ctx, 31)
    forged = ctx.signer.dumps(new_session("nurse", ctx.clock())).rsplit(".", 1)[0]
    assert payload != forged
    _use_cookie(client, f"{forged}.{mac}")
    assert client.get("/api/v1/patients").status_code == 401


def test_revocations_are_forgotten_after_the_maximum_age_and_bounded() -> None:
    now = [datetime(2026, 1, 1, 8, 0)]
    life = SessionLifetime(lambda: now[0], timedelta(minutes=30), timedelta(hours=12), 2)
    a, b = new_session("a", now[0]), new_session("b", now[0])
    life.revoke(a)
    assert life.problem(a) == "logged out" and life.problem(b) is None
    now[0] += timedelta(hours=1)
    c = new_session("c", now[0])
    life.revoke(b)
    life.revoke(c)
    assert life.revoked_count == 2  # bounded: a (the closest to its maximum age) forgotten
    assert life.problem(c.touched(now[0])) == "logged out"
    now[0] += timedelta(hours=12)  # past every maximum age: the next revoke prunes them
    life.revoke(new_session("d", now[0]))
    assert life.revoked_count == 1
    assert life.problem(b.touched(now[0])) is not None  # still refused: too old
    assert life.problem(Session(None, "csrf")) is None  # anonymous: nothing to expire
