"""Failed logins per client address, kept in the database (migration 0012), so that the login
limit (:class:`thecal.api.security.LoginThrottle`) holds across every worker process of
``thecal serve --workers N`` and a restart: an attacker spreading guesses over the workers
meets the same count.

A row lives until it leaves the throttle's window; each failure deletes the rows past it (of
every address). Security state, not clinical records: not audited.
"""

import hashlib
from datetime import datetime

from sqlalchemy import DateTime, Engine, Index, Integer, String, delete, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from thecal.store.database import READ_ONLY
from thecal.store.schema import Base

ADDRESS_MAX = 64  # longer addresses (not IPv4/IPv6 text) are kept as their SHA-256


class LoginFailureRow(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(ADDRESS_MAX))
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    __table_args__ = (Index("ix_login_failures_address_at", "address", "at"),)


def _key(address: str) -> str:
    """The address as stored: as given up to 64 characters, else its SHA-256 (hex, 64): two
    different long addresses never share a count through truncation."""
    if len(address) <= ADDRESS_MAX:
        return address
    return hashlib.sha256(address.encode("utf-8", "surrogatepass")).hexdigest()


def _naive(at: datetime) -> datetime:
    """Clinic local time without a zone, as the other tables store times."""
    return at.astimezone().replace(tzinfo=None) if at.tzinfo is not None else at


class SqlLoginFailures:
    """:class:`thecal.api.security.LoginFailures` on ``engine``: one indexed read per login
    attempt (a read-only transaction), one short write transaction per failure."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def since(self, address: str, cutoff: datetime) -> list[datetime]:
        row = LoginFailureRow
        with self._engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            found = conn.execute(
                select(row.at)
                .where(row.address == _key(address), row.at > _naive(cutoff))
                .order_by(row.at)
            ).scalars().all()  # fmt: skip
            conn.rollback()
        return list(found)

    def add(self, address: str, at: datetime, forget: datetime) -> None:
        row = LoginFailureRow
        with self._engine.begin() as conn:
            conn.execute(delete(row).where(row.at <= _naive(forget)))
            conn.execute(insert(row).values(address=_key(address), at=_naive(at)))

    def count(self) -> int:
        """Rows kept (every address), for tests and monitoring."""
        with self._engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            n = conn.execute(select(func.count()).select_from(LoginFailureRow)).scalar_one()
            conn.rollback()
        return int(n)
