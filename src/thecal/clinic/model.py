"""The clinic's records: small frozen dataclasses, no database in sight.

Identifiers are strings (UUID hex by default) so records can be made before they are stored.
Quantities are pint Quantities (volumes in mL, lengths in cm); times are local clinic time
(naive ``datetime``), the same convention as the plan model.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

import pint

from thecal.therapy.findings import Finding, Level
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_, fmt


def new_id() -> str:
    """A fresh record identifier."""
    return uuid4().hex


class Role(StrEnum):
    """physician: everything; nurse: refills, interrogations, program changes within the
    prescription; viewer: read only (issue 5)."""

    PHYSICIAN = "physician"
    NURSE = "nurse"
    VIEWER = "viewer"


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: Role
    id: str = field(default_factory=new_id)

    @property
    def can_write(self) -> bool:
        return self.role is not Role.VIEWER


@dataclass(frozen=True)
class Patient:
    """Minimal identifiers: the clinic's record number and a display name (demo data is
    synthetic). ``version`` counts committed edits (optimistic versioning)."""

    mrn: str
    display_name: str
    birth_year: int | None = None
    opioid_naive: bool | None = None
    spasticity_origin: str | None = None
    notes: str = ""
    id: str = field(default_factory=new_id)
    version: int = 1


class DeviceKind(StrEnum):
    PUMP = "pump"  # implanted drug pump
    CATHETER = "catheter"
    TRIAL_PUMP = "trial-pump"  # external pump for an intrathecal trial
    STIMULATOR = "stimulator"  # neurostimulator: a record only for now
    LEAD = "lead"


@dataclass(frozen=True)
class Device:
    """One device in (or on) one patient. ``implanted_on``/``removed_on`` bound its dwell time.
    Catheter fields: ``implanted_length`` (cm), ``tip_level`` (e.g. "T10"), ``volume`` (mL,
    when known or computed from the length)."""

    patient_id: str
    kind: DeviceKind
    model: str
    implanted_on: date
    serial: str = ""
    removed_on: date | None = None
    implanted_length: pint.Quantity | None = None
    tip_level: str | None = None
    volume: pint.Quantity | None = None
    notes: str = ""
    id: str = field(default_factory=new_id)

    @property
    def in_place(self) -> bool:
        return self.removed_on is None

    def dwell_time(self, today: date) -> pint.Quantity:
        """Days in place: to removal, or to ``today`` while still in place."""
        end = self.removed_on or today
        return Q_(float((end - self.implanted_on).days), "d")


class ProcedureKind(StrEnum):
    TRIAL = "trial"
    IMPLANT = "implant"
    REVISION = "revision"  # catheter or pocket revision: devices may be removed and added
    REPLACEMENT = "replacement"  # pump replaced (elective or for failure)
    EXPLANT = "explant"


@dataclass(frozen=True)
class Procedure:
    """A procedure on ``performed_on``: the devices it placed and removed."""

    patient_id: str
    kind: ProcedureKind
    performed_on: date
    placed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    notes: str = ""
    by: str = ""
    id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class PrescriptionVersion:
    """One version of a patient's prescription: the therapy core's plan (stored as its JSON),
    numbered 1, 2, … per patient, with who wrote it and why."""

    patient_id: str
    version: int
    plan_json: str
    author: str
    reason: str
    created_at: datetime
    id: str = field(default_factory=new_id)

    def plan(self) -> PlanFile:
        return PlanFile.model_validate_json(self.plan_json)


@dataclass(frozen=True)
class StoredFinding:
    """A finding as recorded: level, stable code, message, source, the limit and value as
    display text with units (the live :class:`Finding` holds Quantities), and for a soft one who
    may give its reason."""

    level: Level
    code: str
    message: str
    source: str
    drug: str | None = None
    limit: str | None = None
    value: str | None = None
    override_by: str | None = None  # soft findings: "physician" or "clinician"

    @classmethod
    def of(cls, f: Finding) -> "StoredFinding":
        return cls(
            f.level,
            f.code.value,
            f.message,
            f.source,
            f.drug,
            fmt(f.limit) if f.limit is not None else None,
            fmt(f.value) if f.value is not None else None,
            f.override_by.value if f.level is Level.SOFT else None,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.level.value,
            "code": self.code,
            "message": self.message,
            "source": self.source,
            "drug": self.drug,
            "limit": self.limit,
            "value": self.value,
        }
        if self.override_by is not None:
            out["override_by"] = self.override_by
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "StoredFinding":
        return cls(
            Level(data["level"]),
            str(data["code"]),
            str(data["message"]),
            str(data["source"]),
            data.get("drug"),
            data.get("limit"),
            data.get("value"),
            data.get("override_by"),
        )


@dataclass(frozen=True)
class RefillCandidateRecord:
    """One date the next refill must not be later than, with its reason and source."""

    at: datetime
    kind: str
    reason: str
    source: str


@dataclass(frozen=True)
class RefillRecord:
    """A refill as done: expected residual, withdrawn, discrepancy (withdrawn − expected; mL),
    filled and confirmed volumes, the drug lot and concentrations, the findings with the
    override reasons, who did it, and the next refill-by date with what decided it."""

    patient_id: str
    device_id: str
    prescription_version: int
    performed_at: datetime
    expected_remaining: pint.Quantity
    withdrawn: pint.Quantity
    discrepancy: pint.Quantity
    filled: pint.Quantity
    drug_lot: str
    concentrations: tuple[tuple[str, str], ...]
    by: str
    refill_by: datetime | None
    decided_by: str
    confirmed_after_fill: pint.Quantity | None = None
    planned_refill: datetime | None = None
    candidates: tuple[RefillCandidateRecord, ...] = ()
    findings: tuple[StoredFinding, ...] = ()
    overrides: tuple[tuple[str, str], ...] = ()
    id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class ProgramChange:
    """A program change: the prescription versions before and after, the gate's findings and
    the reason recorded for each soft one."""

    patient_id: str
    at: datetime
    old_version: int | None
    new_version: int
    by: str
    reason: str
    findings: tuple[StoredFinding, ...] = ()
    overrides: tuple[tuple[str, str], ...] = ()
    id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class Interrogation:
    """A snapshot of the implant's status and event log as read by the programmer (JSON), with
    the findings of its reconciliation with the record (thecal.clinic.reconciliation)."""

    patient_id: str
    device_id: str
    at: datetime
    status: dict[str, Any]
    log: tuple[dict[str, Any], ...] = ()
    by: str = ""
    id: str = field(default_factory=new_id)
    findings: tuple[StoredFinding, ...] = ()


@dataclass(frozen=True)
class Alarm:
    """An alarm reported by a device (or raised by a check); open until cleared (resolved:
    ``cleared_at``/``cleared_by`` with the ``resolution``, why). ``acknowledged_*``: who saw it
    and when, while it stays open."""

    patient_id: str
    code: str
    level: str  # "critical" | "non-critical" | a finding level
    message: str
    raised_at: datetime
    device_id: str | None = None
    cleared_at: datetime | None = None
    cleared_by: str | None = None
    id: str = field(default_factory=new_id)
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolution: str | None = None

    @property
    def open(self) -> bool:
        return self.cleared_at is None


class ComplicationCode(StrEnum):
    """Coded complications and events of intrathecal therapy."""

    INFECTION = "infection"
    CSF_LEAK = "csf-leak"
    POST_DURAL_PUNCTURE_HEADACHE = "post-dural-puncture-headache"
    CATHETER_OCCLUSION = "catheter-occlusion"
    CATHETER_DISLODGEMENT = "catheter-dislodgement"
    CATHETER_FRACTURE = "catheter-fracture"
    CATHETER_TIP_GRANULOMA = "catheter-tip-granuloma"
    POCKET_FILL = "pocket-fill"
    OVERDOSE = "overdose"
    WITHDRAWAL = "withdrawal"
    PUMP_FAILURE = "pump-failure"
    SEROMA = "seroma"
    OTHER = "other"


@dataclass(frozen=True)
class Complication:
    patient_id: str
    code: ComplicationCode
    occurred_on: date
    notes: str = ""
    device_id: str | None = None
    by: str = ""
    id: str = field(default_factory=new_id)
