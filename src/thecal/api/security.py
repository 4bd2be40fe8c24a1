"""Passwords (argon2), signed session cookies (HMAC-SHA256) that expire, CSRF tokens, login
throttling by client address and role rules. The clock is injected so tests can move time."""

import base64
import hashlib
import hmac
import json
import math
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
SESSION_COOKIE = "thecal_session"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; a missing hash still costs one hash so the
    answer time does not reveal whether the user exists."""
    if stored is None:
        _HASHER.hash(password)
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Session:
    """``username`` None: anonymous (a CSRF token only, for the login form). A signed-in
    session also has a random ``sid`` (what logout revokes), ``issued`` (the login) and
    ``seen`` (the last authenticated request), in the clinic's clock."""

    username: str | None
    csrf: str
    sid: str = ""
    issued: datetime | None = None
    seen: datetime | None = None

    def touched(self, now: datetime) -> "Session":
        """The same session, last seen ``now``."""
        return replace(self, seen=now)


def new_session(username: str, now: datetime) -> Session:
    """A fresh signed-in session: new id, new CSRF token, issued and seen ``now``."""
    return Session(username, new_csrf(), secrets.token_urlsafe(16), now, now)


def _time(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


class SessionSigner:
    """Session cookie = base64(JSON) + "." + HMAC-SHA256(secret, payload). The payload holds the
    user, CSRF token, session id and the issued/last-seen times, so none can be altered."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def dumps(self, session: Session) -> str:
        data = {
            "u": session.username, "c": session.csrf, "i": session.sid,
            "t0": session.issued.isoformat() if session.issued else None,
            "t": session.seen.isoformat() if session.seen else None,
        }  # fmt: skip
        payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
        return f"{payload}.{mac}"

    def loads(self, cookie: str | None) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        payload, mac = cookie.rsplit(".", 1)
        good = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
        if not _same(mac, good):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload.encode()))
            return Session(data["u"], str(data["c"]), str(data.get("i") or ""),
                           _time(data.get("t0")), _time(data.get("t")))  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


class Revocations(Protocol):
    """Where logouts are kept: the session ids refused until the time each would have ended
    anyway (its maximum age). The server keeps them in the database
    (:class:`thecal.store.session_schema.SqlRevocations`), so every worker process and a
    restart refuse a logged-out cookie; :class:`MemoryRevocations` is one process's memory."""

    def revoke(self, sid: str, until: datetime, now: datetime) -> None:
        """Refuse ``sid`` until ``until``; ids past their time (``now``) may be forgotten."""
        ...

    def is_revoked(self, sid: str) -> bool: ...

    def count(self) -> int: ...


class MemoryRevocations:
    """Revocations in this process only (a restart or another worker does not know them).
    Beyond ``max_revoked`` ids the one closest to its end is forgotten first: bounded memory."""

    def __init__(self, max_revoked: int = 100_000) -> None:
        self._max_revoked = max_revoked
        self._revoked: dict[str, datetime] = {}  # session id → when its max age ends

    def revoke(self, sid: str, until: datetime, now: datetime) -> None:
        for old in [k for k, end in self._revoked.items() if end <= now]:
            del self._revoked[old]
        self._revoked[sid] = until
        while len(self._revoked) > self._max_revoked:
            del self._revoked[min(self._revoked, key=self._revoked.__getitem__)]

    def is_revoked(self, sid: str) -> bool:
        return sid in self._revoked

    def count(self) -> int:
        return len(self._revoked)


class SessionLifetime:
    """When a signed-in session ends (NIST SP 800-63B sec. 4.2.3, the times come from
    clinic.toml): ``idle`` after the last request, ``max_age`` after the login, or at logout.

    Logouts go to ``revoked`` (default: this process's memory, :class:`MemoryRevocations`
    bounded by ``max_revoked``; the server passes the database's, shared by its workers). A
    revoked id is kept only until its session is past ``max_age`` anyway. ``clock`` returns
    the current time."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        idle: timedelta,
        max_age: timedelta,
        max_revoked: int = 100_000,
        revoked: Revocations | None = None,
    ) -> None:
        self._clock = clock
        self.idle = idle
        self.max_age = max_age
        self._revoked: Revocations = (
            revoked if revoked is not None else MemoryRevocations(max_revoked)
        )

    def problem(self, session: Session) -> str | None:
        """Why ``session`` is no longer accepted, or None. Anonymous sessions (a CSRF token for
        the login form, no rights) do not expire."""
        if session.username is None:
            return None
        if not session.sid or session.issued is None or session.seen is None:
            return "not a current session"  # e.g. a cookie from before sessions expired
        now = self._clock()
        # "30 minutes or longer" / "at least once per 12 hours": the limit itself ends it.
        if now - session.issued >= self.max_age:
            return f"older than {self.max_age}"
        if now - session.seen >= self.idle:
            return f"idle for {self.idle} or longer"
        if self._revoked.is_revoked(session.sid):
            return "logged out"
        return None

    def revoke(self, session: Session) -> None:
        """Refuse ``session`` from now on (logout)."""
        if session.username is None or not session.sid or session.issued is None:
            return
        self._revoked.revoke(session.sid, session.issued + self.max_age, self._clock())

    @property
    def revoked_count(self) -> int:
        return self._revoked.count()


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of untrusted text (any characters, any length) with a secret:
    as UTF-8 bytes, since ``hmac.compare_digest`` refuses non-ASCII ``str``."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())


def csrf_ok(session: Session | None, token: str | None) -> bool:
    """True when ``token`` is the session's CSRF token; any other text (empty, another length,
    non-ASCII, garbage) is simply False."""
    return session is not None and token is not None and _same(token, session.csrf)


class LoginThrottled(Exception):
    """Too many failed logins from this client address: wait ``retry_after`` (whole seconds,
    rounded up) before the next attempt from it."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = math.ceil(retry_after / 60)
        super().__init__(
            "too many failed logins from this address: try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}"
        )


class LoginFailures(Protocol):
    """Where failed logins are kept, per client address. The server keeps them in the database
    (:class:`thecal.store.login_schema.SqlLoginFailures`), so the limit holds across every
    worker process and a restart; :class:`MemoryLoginFailures` is one process's memory."""

    def since(self, address: str, cutoff: datetime) -> list[datetime]:
        """``address``'s failures strictly after ``cutoff``, oldest first."""
        ...

    def add(self, address: str, at: datetime, forget: datetime) -> None:
        """A failure from ``address`` at ``at``; failures at or before ``forget`` (of any
        address) may be forgotten."""
        ...


class MemoryLoginFailures:
    """Failures in this process only. Bounded memory: beyond ``max_addresses`` the least
    recently failing address is forgotten."""

    def __init__(self, max_addresses: int = 10_000) -> None:
        self._max_addresses = max_addresses
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()

    def _recent(self, address: str, cutoff: datetime) -> deque[datetime]:
        q = self._failures.get(address, deque())
        while q and q[0] <= cutoff:
            q.popleft()
        return q

    def since(self, address: str, cutoff: datetime) -> list[datetime]:
        return list(self._recent(address, cutoff))

    def add(self, address: str, at: datetime, forget: datetime) -> None:
        q = self._recent(address, forget)
        q.append(at)
        self._failures[address] = q
        self._failures.move_to_end(address)
        while len(self._failures) > self._max_addresses:
            self._failures.popitem(last=False)


class LoginThrottle:
    """Failed logins slow the client address that makes them, never the account: after
    ``max_failures`` failures from one address within ``window``, that address is refused
    (even with a correct password, or guessing would go on) until its oldest failure in the
    window is ``window`` old. The real user logging in from another address is not affected,
    so an attacker cannot lock anyone out. A success does not clear the address's failures
    (an attacker with one valid account could otherwise reset the count). The failures go to
    ``failures`` (default: this process's memory, :class:`MemoryLoginFailures` bounded by
    ``max_addresses``; the server passes the database's, shared by its workers). ``clock``
    returns the current time."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        max_failures: int,
        window: timedelta,
        max_addresses: int = 10_000,
        failures: LoginFailures | None = None,
    ) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window
        self._failures: LoginFailures = (
            failures if failures is not None else MemoryLoginFailures(max_addresses)
        )

    def check(self, address: str) -> None:
        """Raise :class:`LoginThrottled` when ``address`` has ``max_failures`` or more
        failures within the window."""
        now = self._clock()
        # A failure exactly ``window`` old no longer counts (``since`` is strictly after).
        q = self._failures.since(address, now - self._window)
        if len(q) >= self._max:
            wait = q[len(q) - self._max] + self._window - now
            raise LoginThrottled(max(1, math.ceil(wait.total_seconds())))

    def failed(self, address: str) -> None:
        now = self._clock()
        self._failures.add(address, now, now - self._window)


# Who may change what inside a prescription (a nurse's bounds) is the clinic's rule, checked in
# the write's transaction: thecal.clinic.authorization.
