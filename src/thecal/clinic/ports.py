"""What the clinic services need from storage: a repository and a unit of work.

Every workflow runs inside ``uow.transaction(actor, at, reason)``: all its writes commit
together or not at all, and each write is audited with who, when and why. Reads outside a
workflow use ``uow.reader()`` (nothing is written).
"""

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from thecal.clinic.assessment_ports import AssessmentRecords
from thecal.clinic.audit_view import AuditRecords
from thecal.clinic.delivery_settling_ports import DeliverySettling
from thecal.clinic.implant_link_model import ImplantLinkRecords
from thecal.clinic.model import (
    Alarm,
    Complication,
    Device,
    Interrogation,
    Patient,
    PrescriptionVersion,
    Procedure,
    ProgramChange,
    RefillCandidateRecord,
    RefillRecord,
    User,
)
from thecal.clinic.patient_record_ports import PatientRecords
from thecal.clinic.registration_ports import RegistrationRecords
from thecal.clinic.stimulator_ports import StimulatorRecords
from thecal.clinic.worklist_ports import WorklistReads

Clock = Callable[[], datetime]
"""The current local clinic time. Services never read a clock themselves."""


@dataclass(frozen=True)
class DueRefill:
    """What the refill calendar shows of a patient's latest refill (no volumes: a calendar
    page reads 100 of these, not whole refill records): the forecast's refill-by date, the
    reason that decided it and that rule's ``source``, the planned appointment, when and by
    whom the refill was done."""

    refill_by: datetime | None
    decided_by: str
    source: str
    planned_refill: datetime | None
    performed_at: datetime
    by: str

    @classmethod
    def of(cls, r: RefillRecord) -> "DueRefill":
        return cls(r.refill_by, r.decided_by, decided_source(r.candidates, r.refill_by,
                   r.decided_by), r.planned_refill, r.performed_at, r.by)  # fmt: skip


def decided_source(
    candidates: Sequence[RefillCandidateRecord], refill_by: datetime | None, decided_by: str
) -> str:
    """The source of the candidate date that decided ``refill_by`` ("" when none matches)."""
    for c in candidates:
        if c.at == refill_by and c.reason == decided_by:
            return c.source
    return ""


@dataclass(frozen=True)
class DueWindow:
    """A range of next-refill due dates, ``start <= due < end`` (None: unbounded), or with
    ``undated`` the drug-pump patients whose due date is unknown (start and end unused)."""

    start: datetime | None
    end: datetime | None
    undated: bool = False


class ClinicRepository(
    StimulatorRecords,
    RegistrationRecords,
    ImplantLinkRecords,
    AuditRecords,
    DeliverySettling,
    WorklistReads,
    AssessmentRecords,
    PatientRecords,
    Protocol,
):
    # Users
    def add_user(self, user: User) -> None: ...
    def user_by_name(self, username: str) -> User | None: ...

    # Patients (updates are checked against ``patient.version``; the stored copy gets +1)
    def add_patient(self, patient: Patient) -> None: ...
    def get_patient(self, patient_id: str) -> Patient: ...
    def update_patient(self, patient: Patient) -> Patient: ...
    def list_patients(self) -> Sequence[Patient]: ...

    # Devices and procedures
    def add_device(self, device: Device) -> None: ...
    def get_device(self, device_id: str) -> Device: ...
    def update_device(self, device: Device) -> None: ...
    def devices_for(self, patient_id: str) -> Sequence[Device]: ...
    # Every device still in place, all patients, by (implanted_on, id): one read, not N.
    def devices_in_place(self) -> Sequence[Device]: ...
    # Implanted pumps (kind PUMP) in place whose model is one of ``models`` (with
    # ``other_than``: is none of them), oldest first by (implanted_on, id), at most ``limit``.
    def pumps_in_place(
        self, models: Sequence[str], limit: int | None, other_than: bool = False
    ) -> Sequence[Device]: ...
    def add_procedure(self, procedure: Procedure) -> None: ...
    def procedures_for(self, patient_id: str) -> Sequence[Procedure]: ...

    # Prescriptions, refills, program changes
    def add_prescription(self, prescription: PrescriptionVersion) -> None: ...
    def prescriptions_for(self, patient_id: str) -> Sequence[PrescriptionVersion]: ...
    def add_refill(self, refill: RefillRecord) -> None: ...
    def refills_for(self, patient_id: str) -> Sequence[RefillRecord]: ...
    def latest_refills(self) -> Sequence[RefillRecord]: ...

    # The refill calendar's index: each patient with a drug pump (implanted or trial) in place
    # and the due date of their next refill (calendar.next_due of their latest refill), kept
    # current by every write of a refill or a device.
    def count_refills_due(self, window: DueWindow) -> int: ...
    # Those patients in ``window`` by (due, patient id), ``offset`` then at most ``limit``
    # (None: all), each with their latest refill (None: none recorded).
    def refills_due(
        self, window: DueWindow, limit: int | None, offset: int
    ) -> Sequence[tuple[Patient, RefillRecord | None]]: ...
    # The same page with only what the calendar shows of each latest refill.
    def calendar_rows(
        self, window: DueWindow, limit: int | None, offset: int
    ) -> Sequence[tuple[Patient, DueRefill | None]]: ...
    # A program change moves the next refill date: the latest refill's forecast fields
    # (refill_by, decided_by, candidates) replaced, audited as an update; calendar index too.
    def revise_refill_forecast(self, refill: RefillRecord) -> None: ...
    def add_program_change(self, change: ProgramChange) -> None: ...
    def program_changes_for(self, patient_id: str) -> Sequence[ProgramChange]: ...

    # Interrogations, alarms, complications
    def add_interrogation(self, interrogation: Interrogation) -> None: ...
    # A patient's interrogations oldest first, by (at, id), like the other *_for reads.
    def interrogations_for(self, patient_id: str) -> Sequence[Interrogation]: ...
    # NotFoundError when there is no interrogation ``interrogation_id``.
    def get_interrogation(self, interrogation_id: str) -> Interrogation: ...
    # Each patient's latest interrogation (by (at, id)): the worklist's reconciliation findings.
    def latest_interrogations(self) -> Sequence[Interrogation]: ...
    def add_alarm(self, alarm: Alarm) -> None: ...
    def update_alarm(self, alarm: Alarm) -> None: ...
    def open_alarms(self) -> Sequence[Alarm]: ...
    def alarms_for(self, patient_id: str) -> Sequence[Alarm]: ...
    # Every alarm (open or cleared) with one of ``codes``, by raised_at.
    def alarms_with_codes(self, codes: Sequence[str]) -> Sequence[Alarm]: ...
    def add_complication(self, complication: Complication) -> None: ...
    def complications_for(self, patient_id: str) -> Sequence[Complication]: ...


class UnitOfWork(Protocol):
    def transaction(
        self, actor: str, at: datetime, reason: str
    ) -> AbstractContextManager[ClinicRepository]:
        """A repository whose writes commit together when the block ends normally and are
        all discarded when it raises. Every write is audited as (actor, at, reason)."""
        ...

    def reader(self) -> AbstractContextManager[ClinicRepository]:
        """A repository for reading; writes are discarded."""
        ...
