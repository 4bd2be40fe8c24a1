"""Registration records in the clinic repository: a patient's details, a device's UDI and
pocket side, and the patient search (every write audited, the patient's version moved on)."""

import json
from collections.abc import Sequence

from sqlalchemy import func, or_, select

from thecal.clinic.model import Patient
from thecal.clinic.registration import (
    DeviceDetails,
    Diagnosis,
    DiagnosisCode,
    PatientDetails,
    PocketSide,
    Sex,
)
from thecal.store.registration_schema import DeviceDetailsRow, PatientDetailsRow
from thecal.store.repository_base import RepositoryBase
from thecal.store.rows import PATIENT_COLUMNS, json_text
from thecal.store.schema import PatientRow


def patient_details_of(row: PatientDetailsRow) -> PatientDetails:
    found = tuple(Diagnosis(DiagnosisCode(c), str(t)) for c, t in json.loads(row.diagnoses))
    return PatientDetails(row.patient_id, row.date_of_birth, Sex(row.sex), row.contact, found)


def device_details_of(row: DeviceDetailsRow) -> DeviceDetails:
    side = PocketSide(row.pocket_side) if row.pocket_side is not None else None
    return DeviceDetails(row.device_id, row.patient_id, row.udi, side)


class RegistrationRecords(RepositoryBase):
    """Patient details, device details and patient search."""

    def put_patient_details(self, details: PatientDetails) -> None:
        d = details
        self._touch(d.patient_id)
        diagnoses = json_text([[x.code.value, x.detail] for x in d.diagnoses])
        row = self.session.get(PatientDetailsRow, d.patient_id)
        action = "insert" if row is None else "update"
        if row is None:
            row = PatientDetailsRow(patient_id=d.patient_id)
        row.date_of_birth, row.sex, row.contact = d.date_of_birth, d.sex.value, d.contact
        row.diagnoses = diagnoses
        self._write(action, row, "patient_details", d.patient_id)

    def patient_details(self, patient_id: str) -> PatientDetails | None:
        row = self.session.get(PatientDetailsRow, patient_id, populate_existing=True)
        return None if row is None else patient_details_of(row)

    def add_device_details(self, details: DeviceDetails) -> None:
        d = details
        self._touch(d.patient_id)
        side = d.pocket_side.value if d.pocket_side is not None else None
        row = DeviceDetailsRow(device_id=d.device_id, patient_id=d.patient_id, udi=d.udi,
                               pocket_side=side)  # fmt: skip
        self._write("insert", row, "device_details", d.device_id)

    def device_details(self, device_id: str) -> DeviceDetails | None:
        row = self.session.get(DeviceDetailsRow, device_id)
        return None if row is None else device_details_of(row)

    def patient_by_mrn(self, mrn: str) -> Patient | None:
        row = self.session.execute(
            select(*PATIENT_COLUMNS).where(PatientRow.mrn == mrn.strip())
        ).one_or_none()
        return None if row is None else Patient(*row)

    def search_patients(self, text: str, limit: int, offset: int) -> tuple[Sequence[Patient], int]:
        # lower() on both sides: SQLite's lower() folds ASCII letters only, PostgreSQL's all.
        needle = text.strip().lower()
        columns = (PatientRow.mrn, PatientRow.display_name, PatientRow.id)
        where = or_(*(func.lower(c).contains(needle, autoescape=True) for c in columns))
        total = self.session.execute(select(func.count()).select_from(PatientRow).where(where))
        rows = self.session.execute(
            select(*PATIENT_COLUMNS).where(where).order_by(PatientRow.mrn)
            .offset(offset).limit(limit)
        )  # fmt: skip
        return [Patient(*r) for r in rows], int(total.scalar_one())
