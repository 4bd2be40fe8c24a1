"""An in-memory unit of work: the reference behaviour of :mod:`.ports` for tests and demos.

A transaction works on a copy of the state and swaps it in only when the block ends normally,
so a failing workflow leaves nothing behind — the same contract as the database store.
"""

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from thecal.clinic.errors import ConcurrentEditError, NotFoundError
from thecal.clinic.model import (
    Alarm,
    Complication,
    Device,
    Interrogation,
    Patient,
    PrescriptionVersion,
    Procedure,
    ProgramChange,
    RefillRecord,
    User,
)
from thecal.clinic.ports import ClinicRepository


@dataclass
class AuditEntry:
    actor: str
    at: datetime
    reason: str
    action: str
    entity: str
    entity_id: str


@dataclass
class _State:
    users: dict[str, User] = field(default_factory=dict)
    patients: dict[str, Patient] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    procedures: list[Procedure] = field(default_factory=list)
    prescriptions: list[PrescriptionVersion] = field(default_factory=list)
    refills: list[RefillRecord] = field(default_factory=list)
    changes: list[ProgramChange] = field(default_factory=list)
    interrogations: list[Interrogation] = field(default_factory=list)
    alarms: dict[str, Alarm] = field(default_factory=dict)
    complications: list[Complication] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)


class MemoryRepository:
    def __init__(self, state: _State, who: tuple[str, datetime, str] | None) -> None:
        self._s = state
        self._who = who

    def _audit(self, action: str, entity: str, entity_id: str) -> None:
        if self._who is None:
            raise PermissionError("writes need a transaction")
        actor, at, reason = self._who
        self._s.audit.append(AuditEntry(actor, at, reason, action, entity, entity_id))

    def add_user(self, user: User) -> None:
        self._s.users[user.id] = user
        self._audit("insert", "user", user.id)

    def user_by_name(self, username: str) -> User | None:
        return next((u for u in self._s.users.values() if u.username == username), None)

    def add_patient(self, patient: Patient) -> None:
        self._s.patients[patient.id] = replace(patient, version=1)
        self._audit("insert", "patient", patient.id)

    def get_patient(self, patient_id: str) -> Patient:
        try:
            return self._s.patients[patient_id]
        except KeyError:
            raise NotFoundError("patient", patient_id) from None

    def update_patient(self, patient: Patient) -> Patient:
        stored = self.get_patient(patient.id)
        if stored.version != patient.version:
            raise ConcurrentEditError("patient", patient.id, patient.version)
        new = replace(patient, version=patient.version + 1)
        self._s.patients[patient.id] = new
        self._audit("update", "patient", patient.id)
        return new

    def list_patients(self) -> Sequence[Patient]:
        return sorted(self._s.patients.values(), key=lambda p: p.mrn)

    def add_device(self, device: Device) -> None:
        self._s.devices[device.id] = device
        self._audit("insert", "device", device.id)

    def get_device(self, device_id: str) -> Device:
        try:
            return self._s.devices[device_id]
        except KeyError:
            raise NotFoundError("device", device_id) from None

    def update_device(self, device: Device) -> None:
        self.get_device(device.id)
        self._s.devices[device.id] = device
        self._audit("update", "device", device.id)

    def devices_for(self, patient_id: str) -> Sequence[Device]:
        return sorted(
            (d for d in self._s.devices.values() if d.patient_id == patient_id),
            key=lambda d: (d.implanted_on, d.id),
        )

    def devices_in_place(self) -> Sequence[Device]:
        return sorted(
            (d for d in self._s.devices.values() if d.in_place),
            key=lambda d: (d.implanted_on, d.id),
        )

    def add_procedure(self, procedure: Procedure) -> None:
        self._s.procedures.append(procedure)
        self._audit("insert", "procedure", procedure.id)

    def procedures_for(self, patient_id: str) -> Sequence[Procedure]:
        return sorted(
            (p for p in self._s.procedures if p.patient_id == patient_id),
            key=lambda p: p.performed_on,
        )

    def add_prescription(self, prescription: PrescriptionVersion) -> None:
        self._s.prescriptions.append(prescription)
        self._audit("insert", "prescription", prescription.id)

    def prescriptions_for(self, patient_id: str) -> Sequence[PrescriptionVersion]:
        return sorted(
            (p for p in self._s.prescriptions if p.patient_id == patient_id),
            key=lambda p: p.version,
        )

    def add_refill(self, refill: RefillRecord) -> None:
        self._s.refills.append(refill)
        self._audit("insert", "refill", refill.id)

    def refills_for(self, patient_id: str) -> Sequence[RefillRecord]:
        return sorted(
            (r for r in self._s.refills if r.patient_id == patient_id),
            key=lambda r: r.performed_at,
        )

    def latest_refills(self) -> Sequence[RefillRecord]:
        latest: dict[str, RefillRecord] = {}
        for r in self._s.refills:
            if r.patient_id not in latest or r.performed_at > latest[r.patient_id].performed_at:
                latest[r.patient_id] = r
        return list(latest.values())

    def add_program_change(self, change: ProgramChange) -> None:
        self._s.changes.append(change)
        self._audit("insert", "program_change", change.id)

    def program_changes_for(self, patient_id: str) -> Sequence[ProgramChange]:
        return sorted(
            (c for c in self._s.changes if c.patient_id == patient_id), key=lambda c: c.at
        )

    def add_interrogation(self, interrogation: Interrogation) -> None:
        self._s.interrogations.append(interrogation)
        self._audit("insert", "interrogation", interrogation.id)

    def add_alarm(self, alarm: Alarm) -> None:
        self._s.alarms[alarm.id] = alarm
        self._audit("insert", "alarm", alarm.id)

    def update_alarm(self, alarm: Alarm) -> None:
        if alarm.id not in self._s.alarms:
            raise NotFoundError("alarm", alarm.id)
        self._s.alarms[alarm.id] = alarm
        self._audit("update", "alarm", alarm.id)

    def open_alarms(self) -> Sequence[Alarm]:
        return sorted((a for a in self._s.alarms.values() if a.open), key=lambda a: a.raised_at)

    def alarms_with_codes(self, codes: Sequence[str]) -> Sequence[Alarm]:
        return sorted((a for a in self._s.alarms.values() if a.code in codes),
                      key=lambda a: a.raised_at)  # fmt: skip

    def alarms_for(self, patient_id: str) -> Sequence[Alarm]:
        return sorted(
            (a for a in self._s.alarms.values() if a.patient_id == patient_id),
            key=lambda a: a.raised_at,
        )

    def add_complication(self, complication: Complication) -> None:
        self._s.complications.append(complication)
        self._audit("insert", "complication", complication.id)

    def complications_for(self, patient_id: str) -> Sequence[Complication]:
        return sorted(
            (c for c in self._s.complications if c.patient_id == patient_id),
            key=lambda c: c.occurred_on,
        )


class MemoryUnitOfWork:
    """All-or-nothing transactions over an in-memory state (see module docstring)."""

    def __init__(self) -> None:
        self.state = _State()

    @contextmanager
    def transaction(self, actor: str, at: datetime, reason: str) -> Iterator[ClinicRepository]:
        work = copy.deepcopy(self.state)
        yield MemoryRepository(work, (actor, at, reason))
        self.state = work  # reached only when the block did not raise

    @contextmanager
    def reader(self) -> Iterator[ClinicRepository]:
        yield MemoryRepository(copy.deepcopy(self.state), None)
