"""Recorded assessments in the clinic repository, audited like every record."""

import json
from collections.abc import Sequence

from sqlalchemy import select

from thecal.clinic.assessment_ports import AssessmentKind, AssessmentRecord
from thecal.clinic.errors import NotFoundError
from thecal.store.assessment_schema import AssessmentRow
from thecal.store.repository_base import RepositoryBase


def _record(r: AssessmentRow) -> AssessmentRecord:
    return AssessmentRecord(r.patient_id, r.at, r.by, AssessmentKind(r.kind), r.urgency,
                            json.loads(r.presentation), json.loads(r.result), r.device_id,
                            r.note, r.closed_at, r.closed_by, r.id)  # fmt: skip


class AssessmentRecords(RepositoryBase):
    """:class:`thecal.clinic.assessment_ports.AssessmentRecords` on the session."""

    def add_assessment(self, record: AssessmentRecord) -> None:
        row = AssessmentRow(
            id=record.id, patient_id=record.patient_id, device_id=record.device_id,
            at=record.at, by=record.by, kind=record.kind.value, urgency=record.urgency,
            presentation=json.dumps(record.presentation, sort_keys=True),
            result=json.dumps(record.result, sort_keys=True), note=record.note,
            closed_at=record.closed_at, closed_by=record.closed_by,
        )  # fmt: skip
        self._touch(record.patient_id)
        self._write("insert", row, "assessment", record.id)

    def update_assessment(self, record: AssessmentRecord) -> None:
        row = self.session.get(AssessmentRow, record.id)
        if row is None:
            raise NotFoundError("assessment", record.id)
        row.closed_at, row.closed_by = record.closed_at, record.closed_by
        self._touch(record.patient_id)
        self._write("update", row, "assessment", record.id)

    def get_assessment(self, assessment_id: str) -> AssessmentRecord:
        row = self.session.get(AssessmentRow, assessment_id)
        if row is None:
            raise NotFoundError("assessment", assessment_id)
        return _record(row)

    def assessments_for(self, patient_id: str) -> Sequence[AssessmentRecord]:
        q = (select(AssessmentRow).where(AssessmentRow.patient_id == patient_id)
             .order_by(AssessmentRow.at, AssessmentRow.id))  # fmt: skip
        return [_record(r) for r in self.session.execute(q).scalars()]

    def open_assessments(self, urgencies: Sequence[str]) -> Sequence[AssessmentRecord]:
        q = (select(AssessmentRow)
             .where(AssessmentRow.closed_at.is_(None), AssessmentRow.urgency.in_(list(urgencies)))
             .order_by(AssessmentRow.at, AssessmentRow.id))  # fmt: skip
        return [_record(r) for r in self.session.execute(q).scalars()]
