"""What the API and the web app share: the clinic services (from the composition root), the
session secret, input limits, login throttle and session lifetime."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pint
from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from thecal.adapters.data_files import packaged
from thecal.api.limits import WebLimits, build_web_limits
from thecal.api.security import (
    SESSION_COOKIE,
    LoginThrottle,
    Session,
    SessionLifetime,
    SessionSigner,
    new_session,
    verify_password,
)
from thecal.clinic.model import User
from thecal.clinic.services import ClinicServices
from thecal.clinic.settings import ClinicSettings
from thecal.devices.catalog import DeviceCatalog
from thecal.store.login_schema import SqlLoginFailures
from thecal.store.session_schema import SqlRevocations
from thecal.store.uow import SqlUnitOfWork
from thecal.therapy.library import DrugLibrary


@dataclass
class AppContext:
    """What the web edge adds to the clinic ``services`` (built by the composition root,
    :func:`thecal.adapters.composition.build_services`): the session secret, cookie flags,
    ``limits`` (the web edge's product choices, default: the packaged ``clinic.toml``), the
    login throttle and the session lifetime."""

    services: ClinicServices[SqlUnitOfWork]
    secret: bytes
    secure_cookies: bool = False
    limits: WebLimits = field(default_factory=lambda: default_web_limits())
    throttle: LoginThrottle = field(init=False)
    signer: SessionSigner = field(init=False)
    sessions: SessionLifetime = field(init=False)

    def __post_init__(self) -> None:
        # Failed logins in the database: the limit holds across every worker process.
        self.throttle = LoginThrottle(
            self.clock, self.limits.login_failures_per_address, self.limits.login_failure_window,
            failures=SqlLoginFailures(self.uow.engine),
        )  # fmt: skip
        self.signer = SessionSigner(self.secret)
        # Logouts in the database: every worker process (and a restart) refuses them.
        self.sessions = SessionLifetime(
            self.clock, _timedelta(self.settings.session_idle_timeout),
            _timedelta(self.settings.session_max_age),
            revoked=SqlRevocations(self.uow.engine),
        )  # fmt: skip

    # The services' parts, for the edge's own reads (sessions, pages that only read).
    @property
    def uow(self) -> SqlUnitOfWork:
        return self.services.uow

    @property
    def library(self) -> DrugLibrary:
        return self.services.library

    @property
    def catalog(self) -> DeviceCatalog:
        return self.services.catalog

    @property
    def settings(self) -> ClinicSettings:
        return self.services.settings

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.services.clock

    @property
    def soon(self) -> pint.Quantity:
        """The calendar's look-ahead window (a time)."""
        return self.services.due_soon

    def today(self) -> date:
        return self.clock().date()

    def session_of(self, request: Request) -> Session | None:
        """The request's session when its signature is good and it has not ended (idle, too
        old, logged out); else None."""
        session = self.signer.loads(request.cookies.get(SESSION_COOKIE))
        if session is None or self.sessions.problem(session) is not None:
            return None
        return session

    def user_of(self, request: Request) -> User | None:
        """The signed-in user; each such request is activity: the response re-sets the cookie
        with the session last seen now (:class:`SessionRefresh`)."""
        session = self.session_of(request)
        if session is None or session.username is None:
            return None
        with self.uow.reader() as repo:
            user = repo.user_by_name(session.username)
        if user is not None:
            request.state.session_cookie = self.cookie_header(session.touched(self.clock()))
        return user

    def new_session(self, username: str) -> Session:
        """A fresh session for a login (new id and CSRF token)."""
        return new_session(username, self.clock())

    def end_session(self, request: Request) -> None:
        """Logout: the request's session is refused from now on (in this process)."""
        session = self.session_of(request)
        if session is not None:
            self.sessions.revoke(session)
        request.state.session_cookie = None

    def set_session(self, response: Response, session: Session) -> None:
        response.set_cookie(
            SESSION_COOKIE, self.signer.dumps(session), httponly=True, samesite="lax",
            secure=self.secure_cookies, path="/",
        )  # fmt: skip

    def cookie_header(self, session: Session) -> bytes:
        """The ``Set-Cookie`` header value :meth:`set_session` would send."""
        response = Response()
        self.set_session(response, session)
        return next(v for k, v in response.raw_headers if k == b"set-cookie")

    def authenticate(self, username: str, password: str, address: str) -> User | None:
        """The user when the password matches, else None. Raises
        :class:`~thecal.api.security.LoginThrottled` while ``address`` (the client's) has too
        many recent failures — whoever it tries to log in as."""
        self.throttle.check(address)
        with self.uow.session() as s:
            from thecal.store.repository import SqlRepository

            repo = SqlRepository(s, None)
            stored = repo.password_hash(username)
            user = repo.user_by_name(username)
        if user is None or not verify_password(stored, password):
            self.throttle.failed(address)
            return None
        return user


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def services(request: Request) -> ClinicServices[SqlUnitOfWork]:
    """The app's clinic services (a route dependency)."""
    return context(request).services


def default_web_limits() -> WebLimits:
    """The ``[web]`` limits of the packaged ``clinic.toml``."""
    return build_web_limits("clinic.toml", packaged("clinic.toml"))


def _timedelta(q: pint.Quantity) -> timedelta:
    return timedelta(seconds=float(q.to("s").magnitude))


class SessionRefresh:
    """ASGI middleware: after a signed-in request (:meth:`AppContext.user_of` left the refreshed
    cookie in the request state) the response re-sets the session cookie, so the idle timeout
    counts from the last request. A response that sets the cookie itself (login, logout, an
    anonymous form) keeps its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # The routes' Request.state writes into this dict, even if inner layers copy the scope.
        state = scope.setdefault("state", {})

        async def send_refreshed(message: Message) -> None:
            cookie = state.get("session_cookie")
            if message["type"] == "http.response.start" and cookie:
                headers = list(message.get("headers", []))
                own = SESSION_COOKIE.encode() + b"="
                if not any(k.lower() == b"set-cookie" and v.startswith(own) for k, v in headers):
                    headers.append((b"set-cookie", cookie))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_refreshed)
