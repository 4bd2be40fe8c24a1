"""Recorded assessments in the in-memory repository (see :mod:`thecal.clinic.memory`)."""

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from thecal.clinic.assessment_ports import AssessmentRecord
from thecal.clinic.errors import NotFoundError


class MemoryAssessments:
    """The :class:`~thecal.clinic.assessment_ports.AssessmentRecords` part of the memory
    repository; ``_s.assessments`` is its state (id -> record)."""

    _s: Any

    def _audit(self, action: str, entity: str, entity_id: str) -> None:
        raise NotImplementedError  # the repository's

    def _touch(self, patient_id: str) -> None:
        raise NotImplementedError  # the repository's

    def _records(self) -> dict[str, AssessmentRecord]:
        records: dict[str, AssessmentRecord] = self._s.assessments
        return records

    def add_assessment(self, record: AssessmentRecord) -> None:
        self._audit("insert", "assessment", record.id)
        self._records()[record.id] = record
        self._touch(record.patient_id)

    def update_assessment(self, record: AssessmentRecord) -> None:
        old = self.get_assessment(record.id)
        self._audit("update", "assessment", record.id)
        self._records()[record.id] = replace(old, closed_at=record.closed_at,
                                             closed_by=record.closed_by)  # fmt: skip
        self._touch(record.patient_id)

    def get_assessment(self, assessment_id: str) -> AssessmentRecord:
        record = self._records().get(assessment_id)
        if record is None:
            raise NotFoundError("assessment", assessment_id)
        return record

    def assessments_for(self, patient_id: str) -> Sequence[AssessmentRecord]:
        return sorted((r for r in self._records().values() if r.patient_id == patient_id),
                      key=lambda r: (r.at, r.id))  # fmt: skip

    def open_assessments(self, urgencies: Sequence[str]) -> Sequence[AssessmentRecord]:
        return sorted((r for r in self._records().values() if r.open and r.urgency in urgencies),
                      key=lambda r: (r.at, r.id))  # fmt: skip
