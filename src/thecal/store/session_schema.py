"""Logged-out sessions, kept in the database (migration 0008), so that every worker process
of ``thecal serve --workers N`` (and a restarted server) refuses a cookie after its logout.

A row lives until the session would have reached its maximum age anyway (``until``); each
logout deletes the rows past that point. Security state, not clinical records: not audited.
"""

from datetime import datetime

from sqlalchemy import DateTime, Engine, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import Insert

from thecal.store.database import READ_ONLY
from thecal.store.schema import Base

SID = String(64)


class RevokedSessionRow(Base):
    __tablename__ = "revoked_sessions"
    sid: Mapped[str] = mapped_column(SID, primary_key=True)
    until: Mapped[datetime] = mapped_column(DateTime, index=True)


class SqlRevocations:
    """:class:`thecal.api.security.Revocations` on ``engine``: one short transaction per
    logout, one primary-key read per signed-in request (a read-only transaction: on SQLite it
    takes no write lock)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def revoke(self, sid: str, until: datetime, now: datetime) -> None:
        """Refuse ``sid`` (kept until ``until``); forget the rows past their time (``now``)."""
        row = RevokedSessionRow
        add: Insert
        # A second logout of the same session (two tabs) is not an error.
        if self._engine.dialect.name == "postgresql":
            add = pg_insert(row).values(sid=sid, until=until).on_conflict_do_nothing()
        else:
            add = sqlite_insert(row).values(sid=sid, until=until).on_conflict_do_nothing()
        with self._engine.begin() as conn:
            conn.execute(delete(row).where(row.until <= now))
            conn.execute(add)

    def is_revoked(self, sid: str) -> bool:
        with self._engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            found = conn.execute(
                select(RevokedSessionRow.sid).where(RevokedSessionRow.sid == sid)
            ).first()
            conn.rollback()
        return found is not None

    def count(self) -> int:
        with self._engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            n = conn.execute(select(func.count()).select_from(RevokedSessionRow)).scalar_one()
            conn.rollback()
        return int(n)
