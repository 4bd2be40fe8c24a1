"""An in-memory unit of work: the reference behaviour of :mod:`.ports` for tests and demos.

A transaction works on a copy of the state and swaps it in only when the block ends normally,
so a failing workflow leaves nothing behind — the same contract as the database store.
"""

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from thecal.clinic.assessment_memory import MemoryAssessments
from thecal.clinic.assessment_ports import AssessmentRecord
from thecal.clinic.audit_memory import MemoryAuditRecords
from thecal.clinic.delivery_settling_memory import MemoryDeliverySettling
from thecal.clinic.errors import ConcurrentEditError, NotFoundError
from thecal.clinic.implant_link_memory import LinkState, MemoryImplantLinks
from thecal.clinic.model import (
    Alarm,
    Complication,
    Device,
    DeviceKind,
    Interrogation,
    Patient,
    PrescriptionVersion,
    Procedure,
    ProgramChange,
    RefillRecord,
    User,
)
from thecal.clinic.patient_record_memory import MemoryPatientRecords
from thecal.clinic.ports import ClinicRepository, DueRefill, DueWindow
from thecal.clinic.registration import DeviceDetails, PatientDetails
from thecal.clinic.registration_memory import RegistrationMemory
from thecal.clinic.stimulator_model import (
    BatteryReading,
    ImpedanceSet,
    StimLead,
    StimProgramVersion,
)
from thecal.clinic.worklist_memory import MemoryWorklistReads


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
    stim_leads: list[StimLead] = field(default_factory=list)
    stim_programs: list[StimProgramVersion] = field(default_factory=list)
    impedances: list[ImpedanceSet] = field(default_factory=list)
    batteries: list[BatteryReading] = field(default_factory=list)
    registrations: dict[str, PatientDetails] = field(default_factory=dict)
    device_details: dict[str, DeviceDetails] = field(default_factory=dict)
    links: LinkState = field(default_factory=LinkState)
    assessments: dict[str, AssessmentRecord] = field(default_factory=dict)


class MemoryRepository(
    RegistrationMemory,
    MemoryImplantLinks,
    MemoryAuditRecords,
    MemoryDeliverySettling,
    MemoryWorklistReads,
    MemoryAssessments,
    MemoryPatientRecords,
):
    def __init__(self, state: _State, who: tuple[str, datetime, str] | None) -> None:
        self._s = state
        self._who = who
        self._bumped: set[str] = set()

    def _touch(self, patient_id: str) -> None:
        # Every write to a patient's records moves its version on, once per transaction (as
        # the database store does: a form or API client holding the old version is refused).
        patient = self._s.patients.get(patient_id)
        if patient is not None and patient_id not in self._bumped:
            self._s.patients[patient_id] = replace(patient, version=patient.version + 1)
            self._bumped.add(patient_id)

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
        self._bumped.add(patient.id)
        self._audit("update", "patient", patient.id)
        return new

    def list_patients(self) -> Sequence[Patient]:
        return sorted(self._s.patients.values(), key=lambda p: p.mrn)

    def add_device(self, device: Device) -> None:
        self._touch(device.patient_id)
        self._s.devices[device.id] = device
        self._audit("insert", "device", device.id)

    def get_device(self, device_id: str) -> Device:
        try:
            return self._s.devices[device_id]
        except KeyError:
            raise NotFoundError("device", device_id) from None

    def update_device(self, device: Device) -> None:
        self._touch(self.get_device(device.id).patient_id)
        self._touch(device.patient_id)
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

    def pumps_in_place(
        self, models: Sequence[str], limit: int | None, other_than: bool = False
    ) -> Sequence[Device]:
        out = [d for d in self.devices_in_place()
               if d.kind is DeviceKind.PUMP and (d.model in models) != other_than]  # fmt: skip
        return out if limit is None else out[:limit]

    def add_procedure(self, procedure: Procedure) -> None:
        self._touch(procedure.patient_id)
        self._s.procedures.append(procedure)
        self._audit("insert", "procedure", procedure.id)

    def procedures_for(self, patient_id: str) -> Sequence[Procedure]:
        return sorted(
            (p for p in self._s.procedures if p.patient_id == patient_id),
            key=lambda p: (p.performed_on, p.id),
        )

    def add_prescription(self, prescription: PrescriptionVersion) -> None:
        self._touch(prescription.patient_id)
        self._s.prescriptions.append(prescription)
        self._audit("insert", "prescription", prescription.id)

    def prescriptions_for(self, patient_id: str) -> Sequence[PrescriptionVersion]:
        return sorted(
            (p for p in self._s.prescriptions if p.patient_id == patient_id),
            key=lambda p: p.version,
        )

    def add_refill(self, refill: RefillRecord) -> None:
        self._touch(refill.patient_id)
        self._s.refills.append(refill)
        self._audit("insert", "refill", refill.id)

    def revise_refill_forecast(self, refill: RefillRecord) -> None:
        for i, r in enumerate(self._s.refills):
            if r.id == refill.id:
                self._touch(r.patient_id)
                self._s.refills[i] = replace(
                    r, refill_by=refill.refill_by, decided_by=refill.decided_by,
                    candidates=refill.candidates,
                )  # fmt: skip
                self._audit("update", "refill", refill.id)
                return
        raise NotFoundError("refill", refill.id)

    def refills_for(self, patient_id: str) -> Sequence[RefillRecord]:
        return sorted(
            (r for r in self._s.refills if r.patient_id == patient_id),
            key=lambda r: r.performed_at,
        )

    def latest_refills(self) -> Sequence[RefillRecord]:
        # Ties on performed_at: the larger id is the latest, as in the database's index.
        latest: dict[str, RefillRecord] = {}
        for r in self._s.refills:
            have = latest.get(r.patient_id)
            if have is None or (r.performed_at, r.id) > (have.performed_at, have.id):
                latest[r.patient_id] = r
        return list(latest.values())

    def _schedule(self) -> list[tuple[datetime | None, Patient, RefillRecord | None]]:
        # Computed from scratch: the reference the database's maintained index must agree with.
        from thecal.clinic.calendar import next_due

        drug_pumps = (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP)
        with_pump = {d.patient_id for d in self._s.devices.values()
                     if d.in_place and d.kind in drug_pumps}  # fmt: skip
        latest = {r.patient_id: r for r in self.latest_refills()}
        out = []
        for pid in with_pump:
            last = latest.get(pid)
            due = next_due(last.refill_by, last.planned_refill) if last else None
            out.append((due, self._s.patients[pid], last))
        return out

    def _in_window(self, window: DueWindow) -> list[tuple[Patient, RefillRecord | None]]:
        def inside(due: datetime | None) -> bool:
            if window.undated or due is None:
                return window.undated and due is None
            return (window.start is None or due >= window.start) and (
                window.end is None or due < window.end
            )

        rows = [(due, p, last) for due, p, last in self._schedule() if inside(due)]
        rows.sort(key=lambda t: (t[0] or datetime.min, t[1].id))
        return [(p, last) for _, p, last in rows]

    def count_refills_due(self, window: DueWindow) -> int:
        return len(self._in_window(window))

    def refills_due(
        self, window: DueWindow, limit: int | None, offset: int
    ) -> Sequence[tuple[Patient, RefillRecord | None]]:
        rows = self._in_window(window)[offset:]
        return rows if limit is None else rows[:limit]

    def calendar_rows(
        self, window: DueWindow, limit: int | None, offset: int
    ) -> Sequence[tuple[Patient, DueRefill | None]]:
        return [(p, None if r is None else DueRefill.of(r))
                for p, r in self.refills_due(window, limit, offset)]  # fmt: skip

    def add_program_change(self, change: ProgramChange) -> None:
        self._touch(change.patient_id)
        self._s.changes.append(change)
        self._audit("insert", "program_change", change.id)

    def program_changes_for(self, patient_id: str) -> Sequence[ProgramChange]:
        return sorted(
            (c for c in self._s.changes if c.patient_id == patient_id), key=lambda c: c.at
        )

    def add_interrogation(self, interrogation: Interrogation) -> None:
        self._touch(interrogation.patient_id)
        self._s.interrogations.append(interrogation)
        self._audit("insert", "interrogation", interrogation.id)

    def interrogations_for(self, patient_id: str) -> Sequence[Interrogation]:
        return sorted(
            (i for i in self._s.interrogations if i.patient_id == patient_id),
            key=lambda i: (i.at, i.id),
        )

    def get_interrogation(self, interrogation_id: str) -> Interrogation:
        found = next((i for i in self._s.interrogations if i.id == interrogation_id), None)
        if found is None:
            raise NotFoundError("interrogation", interrogation_id)
        return found

    def latest_interrogations(self) -> Sequence[Interrogation]:
        latest: dict[str, Interrogation] = {}
        for i in self._s.interrogations:
            have = latest.get(i.patient_id)
            if have is None or (i.at, i.id) > (have.at, have.id):
                latest[i.patient_id] = i
        return list(latest.values())

    def add_alarm(self, alarm: Alarm) -> None:
        self._touch(alarm.patient_id)
        self._s.alarms[alarm.id] = alarm
        self._audit("insert", "alarm", alarm.id)

    def update_alarm(self, alarm: Alarm) -> None:
        if alarm.id not in self._s.alarms:
            raise NotFoundError("alarm", alarm.id)
        self._touch(self._s.alarms[alarm.id].patient_id)
        self._touch(alarm.patient_id)
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
            key=lambda a: (a.raised_at, a.id),
        )

    def add_complication(self, complication: Complication) -> None:
        self._touch(complication.patient_id)
        self._s.complications.append(complication)
        self._audit("insert", "complication", complication.id)

    def complications_for(self, patient_id: str) -> Sequence[Complication]:
        return sorted(
            (c for c in self._s.complications if c.patient_id == patient_id),
            key=lambda c: (c.occurred_on, c.id),
        )

    # Stimulators -----------------------------------------------------------------------------

    def add_stim_lead(self, lead: StimLead) -> None:
        self._touch(lead.patient_id)
        self._s.stim_leads.append(lead)
        self._audit("insert", "stim_lead", lead.id)

    def stim_leads_for(self, device_id: str) -> Sequence[StimLead]:
        return sorted((x for x in self._s.stim_leads if x.device_id == device_id),
                      key=lambda x: (x.implanted_on, x.name, x.id))  # fmt: skip

    def add_stim_program(self, program: StimProgramVersion) -> None:
        self._touch(program.patient_id)
        self._s.stim_programs.append(program)
        self._audit("insert", "stim_program", program.id)

    def stim_programs_for(self, device_id: str) -> Sequence[StimProgramVersion]:
        return sorted((x for x in self._s.stim_programs if x.device_id == device_id),
                      key=lambda x: x.version)  # fmt: skip

    def add_impedance_set(self, measurement: ImpedanceSet) -> None:
        self._touch(measurement.patient_id)
        self._s.impedances.append(measurement)
        self._audit("insert", "impedance_set", measurement.id)

    def impedance_sets_for(self, device_id: str) -> Sequence[ImpedanceSet]:
        return sorted((x for x in self._s.impedances if x.device_id == device_id),
                      key=lambda x: (x.at, x.id))  # fmt: skip

    def add_battery_reading(self, reading: BatteryReading) -> None:
        self._touch(reading.patient_id)
        self._s.batteries.append(reading)
        self._audit("insert", "battery_reading", reading.id)

    def battery_readings_for(self, device_id: str) -> Sequence[BatteryReading]:
        return sorted((x for x in self._s.batteries if x.device_id == device_id),
                      key=lambda x: (x.at, x.id))  # fmt: skip


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
