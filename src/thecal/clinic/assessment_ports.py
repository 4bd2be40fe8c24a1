"""Recorded assessments: what the clinic stores of one run of the decision rules (part of
:class:`thecal.clinic.ports.ClinicRepository`). The input (the presentation) and the output
(the assessment) are stored whole as JSON, so a later reader sees what the rules were given
and what they proposed, whatever the registry or the rules say by then."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from thecal.clinic.model import new_id


class AssessmentKind(StrEnum):
    """``clinician``: a new presentation entered on a visit; ``replacement``: the checklist
    before a device replacement; ``operative``: what was found at surgery."""

    CLINICIAN = "clinician"
    REPLACEMENT = "replacement"
    OPERATIVE = "operative"


@dataclass(frozen=True)
class AssessmentRecord:
    """One recorded assessment: who ran it and when, on which device, the presentation given
    to the rules (``presentation``: its JSON form) and what they proposed (``result``: the
    :class:`thecal.decision.Assessment` JSON), its ``urgency`` (a copy, for the worklist) and
    ``note``. Open until a clinician closes it (``closed_at``, ``closed_by``)."""

    patient_id: str
    at: datetime
    by: str
    kind: AssessmentKind
    urgency: str
    presentation: dict[str, Any]
    result: dict[str, Any]
    device_id: str | None = None
    note: str = ""
    closed_at: datetime | None = None
    closed_by: str | None = None
    id: str = field(default_factory=new_id)

    @property
    def open(self) -> bool:
        return self.closed_at is None


class AssessmentRecords(Protocol):
    def add_assessment(self, record: AssessmentRecord) -> None: ...
    # Only closed_at / closed_by change (audited as an update).
    def update_assessment(self, record: AssessmentRecord) -> None: ...
    # NotFoundError when there is none.
    def get_assessment(self, assessment_id: str) -> AssessmentRecord: ...
    # A patient's assessments, oldest first by (at, id).
    def assessments_for(self, patient_id: str) -> Sequence[AssessmentRecord]: ...
    # Every open assessment whose urgency is one of ``urgencies``, by (at, id).
    def open_assessments(self, urgencies: Sequence[str]) -> Sequence[AssessmentRecord]: ...
