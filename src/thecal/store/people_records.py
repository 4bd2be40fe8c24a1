"""Users (with their password hashes) and patients in the clinic repository: rows to
dataclasses and back, and the patient's optimistic version check on update."""

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select, update

from thecal.clinic.errors import ConcurrentEditError, NotFoundError
from thecal.clinic.model import Patient, Role, User
from thecal.store import audit
from thecal.store.repository_base import RepositoryBase
from thecal.store.rows import PATIENT_COLUMNS
from thecal.store.schema import CredentialRow, PatientRow, UserRow


class PeopleRecords(RepositoryBase):
    """Users, credentials and patients."""

    def add_user(self, user: User) -> None:
        row = UserRow(
            id=user.id, username=user.username, display_name=user.display_name,
            role=user.role.value,
        )  # fmt: skip
        self._write("insert", row, "user", user.id)

    def user_by_name(self, username: str) -> User | None:
        row = self.session.execute(
            select(UserRow).where(UserRow.username == username)
        ).scalar_one_or_none()
        if row is None:
            return None
        return User(row.username, row.display_name, Role(row.role), row.id)

    def set_password_hash(self, username: str, password_hash: str) -> None:
        """Store ``username``'s password hash (argon2, computed by the caller). Audited without
        the hash itself."""
        user = self.user_by_name(username)
        if user is None:
            raise NotFoundError("user", username)
        row = self.session.get(CredentialRow, user.id)
        if row is None:
            row = CredentialRow(user_id=user.id, password_hash=password_hash)
            self.session.add(row)
        else:
            row.password_hash = password_hash
        if self._who is None:
            raise PermissionError("writes need a transaction (uow.transaction)")
        self.session.flush()
        actor, at, reason = self._who
        audit.append(
            self.session, actor, at, "update", "credential", user.id, reason, {"password": "set"}
        )

    def password_hash(self, username: str) -> str | None:
        """The stored password hash of ``username`` (None: no such user or no password)."""
        row = self.session.execute(
            select(CredentialRow.password_hash)
            .join(UserRow, UserRow.id == CredentialRow.user_id)
            .where(UserRow.username == username)
        ).scalar_one_or_none()
        return row

    # --- patients ------------------------------------------------------------------------

    @staticmethod
    def _patient(row: PatientRow) -> Patient:
        return Patient(
            row.mrn, row.display_name, row.birth_year, row.opioid_naive, row.spasticity_origin,
            row.notes, row.id, row.version,
        )  # fmt: skip

    def add_patient(self, patient: Patient) -> None:
        row = PatientRow(
            id=patient.id, mrn=patient.mrn, display_name=patient.display_name,
            birth_year=patient.birth_year, opioid_naive=patient.opioid_naive,
            spasticity_origin=patient.spasticity_origin, notes=patient.notes, version=1,
        )  # fmt: skip
        self._write("insert", row, "patient", patient.id)

    def get_patient(self, patient_id: str) -> Patient:
        row = self.session.get(PatientRow, patient_id, populate_existing=True)
        if row is None:
            raise NotFoundError("patient", patient_id)
        if self._who is not None:
            self._versions.saw(patient_id, row.version)
        return self._patient(row)

    def update_patient(self, patient: Patient) -> Patient:
        """Write ``patient`` if the stored version is still ``patient.version``; the stored
        version becomes +1. Otherwise :class:`ConcurrentEditError` (nothing written)."""
        result = self.session.execute(
            update(PatientRow)
            .where(PatientRow.id == patient.id, PatientRow.version == patient.version)
            .values(
                mrn=patient.mrn, display_name=patient.display_name,
                birth_year=patient.birth_year, opioid_naive=patient.opioid_naive,
                spasticity_origin=patient.spasticity_origin, notes=patient.notes,
                version=patient.version + 1,
            )
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if result.rowcount != 1:  # type: ignore[attr-defined]
            if self.session.get(PatientRow, patient.id) is None:
                raise NotFoundError("patient", patient.id)
            raise ConcurrentEditError("patient", patient.id, patient.version)
        row = self.session.get(PatientRow, patient.id, populate_existing=True)
        assert row is not None
        self._versions.bumped.add(patient.id)  # this write is the transaction's bump
        self._write("update", row, "patient", patient.id)
        return replace(patient, version=patient.version + 1)

    def list_patients(self) -> Sequence[Patient]:
        # Plain column tuples, not ORM objects: several times faster for a whole clinic.
        rows = self.session.execute(select(*PATIENT_COLUMNS).order_by(PatientRow.mrn))
        return [Patient(*r) for r in rows]
