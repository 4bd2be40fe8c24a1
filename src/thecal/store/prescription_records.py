"""Prescription versions and program changes (switching a pump from one prescription version
to another) in the clinic repository."""

from collections.abc import Sequence

from sqlalchemy import select

from thecal.clinic.model import PrescriptionVersion, ProgramChange
from thecal.store.repository_base import RepositoryBase
from thecal.store.rows import findings_from_json, json_text, pairs_from_json
from thecal.store.schema import PrescriptionRow, ProgramChangeRow


def prescription_of(r: PrescriptionRow) -> PrescriptionVersion:
    return PrescriptionVersion(r.patient_id, r.version, r.plan_json, r.author, r.reason,
                               r.created_at, r.id)  # fmt: skip


def program_change_of(r: ProgramChangeRow) -> ProgramChange:
    return ProgramChange(r.patient_id, r.at, r.old_version, r.new_version, r.by, r.reason,
                         findings_from_json(r.findings), pairs_from_json(r.overrides),
                         r.id)  # fmt: skip


class PrescriptionRecords(RepositoryBase):
    """Prescription versions and program changes."""

    def add_prescription(self, prescription: PrescriptionVersion) -> None:
        p = prescription
        self._touch(p.patient_id)
        row = PrescriptionRow(
            id=p.id, patient_id=p.patient_id, version=p.version, plan_json=p.plan_json,
            author=p.author, reason=p.reason, created_at=p.created_at,
        )  # fmt: skip
        self._write("insert", row, "prescription", p.id)

    def prescriptions_for(self, patient_id: str) -> Sequence[PrescriptionVersion]:
        rows = self.session.execute(
            select(PrescriptionRow)
            .where(PrescriptionRow.patient_id == patient_id)
            .order_by(PrescriptionRow.version)
        ).scalars()
        return [prescription_of(r) for r in rows]

    def add_program_change(self, change: ProgramChange) -> None:
        c = change
        self._touch(c.patient_id)
        row = ProgramChangeRow(
            id=c.id, patient_id=c.patient_id, at=c.at, old_version=c.old_version,
            new_version=c.new_version, by=c.by, reason=c.reason,
            findings=json_text([f.to_json() for f in c.findings]),
            overrides=json_text([list(o) for o in c.overrides]),
        )  # fmt: skip
        self._write("insert", row, "program_change", c.id)

    def program_changes_for(self, patient_id: str) -> Sequence[ProgramChange]:
        rows = self.session.execute(
            select(ProgramChangeRow)
            .where(ProgramChangeRow.patient_id == patient_id)
            .order_by(ProgramChangeRow.at)
        ).scalars()
        return [program_change_of(r) for r in rows]
