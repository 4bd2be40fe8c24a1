"""The clinic repository's common ground: the SQLAlchemy session, the patient version every
write moves on, and the audit entry every write appends in the same transaction."""

from datetime import datetime

from sqlalchemy.orm import Session

from thecal.store import audit
from thecal.store.patient_version import PatientVersions
from thecal.store.rows import row_columns
from thecal.store.schema import Base


class RepositoryBase:
    """The session and the audited write shared by the repository's record-kind mixins.
    ``who`` is (actor, at, reason) for the audit log; None makes the repository read-only."""

    def __init__(self, session: Session, who: tuple[str, datetime, str] | None) -> None:
        self.session = session
        self._who = who
        self._versions = PatientVersions()  # every write moves the patient's version on

    def _touch(self, patient_id: str) -> None:
        """A write to ``patient_id``'s records: bump the patient's version (compare-and-swap
        against the version this transaction read, see :mod:`thecal.store.patient_version`)."""
        if self._who is None:
            raise PermissionError("writes need a transaction (uow.transaction)")
        self._versions.bump(self.session, patient_id)

    def _write(self, action: str, row: Base, entity: str, entity_id: str) -> None:
        if self._who is None:
            raise PermissionError("writes need a transaction (uow.transaction)")
        if action == "insert":
            self.session.add(row)
        self.session.flush()
        actor, at, reason = self._who
        audit.append(self.session, actor, at, action, entity, entity_id, reason, row_columns(row))
