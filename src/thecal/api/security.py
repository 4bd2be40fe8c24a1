"""Passwords (argon2), signed session cookies (HMAC-SHA256), CSRF tokens, login rate limiting
and role rules. The clock is injected so tests can move time."""

import base64
import hashlib
import hmac
import json
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from thecal.clinic.model import Role, User
from thecal.therapy.plan import PlanFile
from thecal.units import Q_

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
    """``username`` None: anonymous (a CSRF token only, for the login form)."""

    username: str | None
    csrf: str


class SessionSigner:
    """Session cookie = base64(JSON) + "." + HMAC-SHA256(secret, payload)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def dumps(self, session: Session) -> str:
        payload = base64.urlsafe_b64encode(
            json.dumps({"u": session.username, "c": session.csrf}).encode()
        ).decode()
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
        return f"{payload}.{mac}"

    def loads(self, cookie: str | None) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        payload, mac = cookie.rsplit(".", 1)
        good = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, good):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload.encode()))
            return Session(data["u"], str(data["c"]))
        except (ValueError, KeyError, TypeError):
            return None


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(session: Session | None, token: str | None) -> bool:
    return session is not None and token is not None and hmac.compare_digest(session.csrf, token)


class LoginRateLimiter:
    """At most ``max_failures`` failed logins per (username, client address) within
    ``window``; bounded memory (the least recently used keys are forgotten beyond
    ``max_keys``). ``clock`` returns the current time."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=15),
        max_keys: int = 10_000,
    ) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window
        self._max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str], deque[datetime]] = OrderedDict()

    def _recent(self, key: tuple[str, str]) -> deque[datetime]:
        q = self._failures.get(key, deque())
        cutoff = self._clock() - self._window
        while q and q[0] <= cutoff:
            q.popleft()
        return q

    def blocked(self, username: str, address: str) -> bool:
        return len(self._recent((username, address))) >= self._max

    def failed(self, username: str, address: str) -> None:
        key = (username, address)
        q = self._recent(key)
        q.append(self._clock())
        self._failures[key] = q
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop((username, address), None)


def may_write(user: User) -> bool:
    return user.role is not Role.VIEWER


def nurse_bounds_problem(current: PlanFile | None, new: PlanFile) -> str | None:
    """Why a nurse may not make this program change, or None. A nurse stays within the current
    prescription: same pump, same admixture (drugs and concentrations), same schedule shape,
    and a daily dose or rate no higher than prescribed; no new patient bolus and no larger
    one. Anything else needs a physician."""
    if current is None:
        return "there is no current prescription to stay within"
    if new.pump.model != current.pump.model:
        return "a different pump model needs a physician"
    if new.admixture != current.admixture:
        return "a different admixture needs a physician"
    cs, ns = current.schedule, new.schedule
    if (ns.mode, ns.drug, ns.steps, ns.periodic, ns.single) != (
        cs.mode, cs.drug, cs.steps, cs.periodic, cs.single,
    ):  # fmt: skip
        return "a different schedule shape needs a physician"
    for attr in ("dose", "rate"):
        old, value = getattr(cs, attr), getattr(ns, attr)
        if (old is None) != (value is None):
            return f"changing between dose and rate needs a physician ({attr})"
        if old is not None and value is not None and Q_(value) > Q_(old):
            return f"schedule.{attr} {value} is above the prescribed {old}"
    if new.patient_bolus is not None and new.patient_bolus != current.patient_bolus:
        return "a new or different patient bolus needs a physician"
    return None
