"""The unit of work on a SQLAlchemy engine: one session, one transaction per workflow."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from thecal.clinic.ports import ClinicRepository
from thecal.store.audit import AuditReport, verify
from thecal.store.database import READ_ONLY
from thecal.store.repository import SqlRepository


class SqlUnitOfWork:
    """:class:`thecal.clinic.ports.UnitOfWork` on ``engine``. A transaction commits when its
    block ends normally and rolls back everything — records and audit rows — when it raises."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False, autoflush=True)

    @contextmanager
    def transaction(self, actor: str, at: datetime, reason: str) -> Iterator[ClinicRepository]:
        with self._sessions() as session, session.begin():
            yield SqlRepository(session, (actor, at, reason))

    @contextmanager
    def reader(self) -> Iterator[ClinicRepository]:
        with self._sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            try:
                yield SqlRepository(session, None)
            finally:
                session.rollback()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A raw session (read-only use: audit verification, reports)."""
        with self._sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def verify_audit(self) -> AuditReport:
        with self.session() as session:
            return verify(session)
