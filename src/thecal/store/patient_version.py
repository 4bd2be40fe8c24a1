"""The patient's version: an optimistic-concurrency token that every write moves on.

Every write to a patient's records (refill, prescription, program change, device, procedure,
interrogation, alarm, complication, the patient row itself) raises ``patients.version`` by one,
once per transaction. A client that read version *v* and writes with *v* is refused when
anyone wrote in between (:class:`ConcurrentEditError`, HTTP 409), whichever route that write
took (web form, JSON API, CLI).

The bump is a compare-and-swap: ``UPDATE patients SET version = version + 1 WHERE id = :id
AND version = :read``, where ``:read`` is the version this transaction read before computing
the write (if it read the patient). On PostgreSQL (READ COMMITTED) two transactions writing
for the same patient therefore cannot both commit on a stale read: the second one's UPDATE
waits for the first's row lock, then matches no row. On SQLite every write transaction holds
the database's write lock from its first statement (``BEGIN IMMEDIATE``), so reads are never
stale. Writes for different patients touch different rows and never refuse each other.
"""

from sqlalchemy import update
from sqlalchemy.orm import Session

from thecal.clinic.errors import ConcurrentEditError, NotFoundError
from thecal.store.schema import PatientRow


class PatientVersions:
    """Per transaction: the version read of each patient, and which were bumped already."""

    def __init__(self) -> None:
        self.read: dict[str, int] = {}
        self.bumped: set[str] = set()

    def saw(self, patient_id: str, version: int) -> None:
        """The transaction read ``patient_id`` at ``version`` (the first read counts)."""
        self.read.setdefault(patient_id, version)

    def bump(self, session: Session, patient_id: str) -> None:
        """Raise the stored version by one unless this transaction did already, comparing
        with the version this transaction read (if it read one). :class:`NotFoundError` for
        an unknown patient, :class:`ConcurrentEditError` when someone else wrote since the
        read (the caller's transaction rolls back: nothing is written)."""
        if patient_id in self.bumped:
            return
        read = self.read.get(patient_id)
        where = [PatientRow.id == patient_id]
        if read is not None:
            where.append(PatientRow.version == read)
        result = session.execute(
            update(PatientRow)
            .where(*where)
            .values(version=PatientRow.version + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            if session.get(PatientRow, patient_id) is None:
                raise NotFoundError("patient", patient_id)
            raise ConcurrentEditError("patient", patient_id, read if read is not None else 0)
        self.bumped.add(patient_id)
