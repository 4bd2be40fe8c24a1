"""What the API and the web app share: the unit of work, data, clock, secret and limiter."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import pint
from fastapi import HTTPException, Request

from thecal.api.security import (
    SESSION_COOKIE,
    LoginRateLimiter,
    Session,
    SessionSigner,
    verify_password,
)
from thecal.clinic.model import User
from thecal.clinic.settings import ClinicSettings
from thecal.devices.catalog import DeviceCatalog
from thecal.store.uow import SqlUnitOfWork
from thecal.therapy.library import DrugLibrary


@dataclass
class AppContext:
    """``clock`` is the clinic's local time; ``soon`` the calendar's look-ahead window."""

    uow: SqlUnitOfWork
    library: DrugLibrary
    catalog: DeviceCatalog
    settings: ClinicSettings
    clock: Callable[[], datetime]
    secret: bytes
    soon: pint.Quantity
    secure_cookies: bool = False
    limiter: LoginRateLimiter = field(init=False)
    signer: SessionSigner = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = LoginRateLimiter(self.clock)
        self.signer = SessionSigner(self.secret)

    def today(self) -> date:
        return self.clock().date()

    def session_of(self, request: Request) -> Session | None:
        return self.signer.loads(request.cookies.get(SESSION_COOKIE))

    def user_of(self, request: Request) -> User | None:
        session = self.session_of(request)
        if session is None or session.username is None:
            return None
        with self.uow.reader() as repo:
            return repo.user_by_name(session.username)

    def authenticate(self, username: str, password: str, address: str) -> User | None:
        """The user when the password matches; raises 429 when rate limited."""
        if self.limiter.blocked(username, address):
            raise HTTPException(429, "too many failed logins: wait and try again")
        with self.uow.session() as s:
            from thecal.store.repository import SqlRepository

            repo = SqlRepository(s, None)
            stored = repo.password_hash(username)
            user = repo.user_by_name(username)
        if user is None or not verify_password(stored, password):
            self.limiter.failed(username, address)
            return None
        self.limiter.succeeded(username, address)
        return user


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx
