"""The clinic's services in one object: the unit of work, the clock, the drug library, the
device catalog and the clinic settings, with a method per clinic workflow.

The web app, the JSON API and the CLI all get one :class:`ClinicServices` from the composition
root (:func:`thecal.adapters.composition.build_services`) and call these methods with keyword
arguments. Who may do what is decided here, not at the edges: a viewer may not write, a nurse
stays within the current prescription, and only a physician gives a physician's reasons —
the last two inside the write's transaction (:mod:`thecal.clinic.authorization`). The edges
check their own concerns (session, CSRF token) and map the errors raised here to responses.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import pint

from thecal.clinic.alarms import AlarmServices
from thecal.clinic.calendar import CalendarPage, RefillStatus, calendar_page
from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.implant_links import ImplantLinkServices
from thecal.clinic.interrogation import record_interrogation
from thecal.clinic.model import (
    Alarm,
    Device,
    Interrogation,
    Patient,
    PrescriptionVersion,
    RefillRecord,
    User,
)
from thecal.clinic.patient_context import current_prescription, pump_in_place
from thecal.clinic.ports import Clock, UnitOfWork
from thecal.clinic.program_workflow import (
    ProgramOutcome,
    ProgramPreview,
    change_program,
    preview_program_change,
)
from thecal.clinic.reconcile_interrogation import Reconcile
from thecal.clinic.refill_workflow import RefillInput, RefillOutcome, preview_refill, record_refill
from thecal.clinic.registration_facade import Registration
from thecal.clinic.replacement import ReplacementPlan, replacement_plans
from thecal.clinic.settings import ClinicSettings
from thecal.clinic.stimulator_model import (
    BatteryReading,
    ContactImpedance,
    ImpedanceSet,
    MeasurementSource,
    StimLead,
    StimProgramVersion,
)
from thecal.clinic.stimulator_reading import StimulatorReading, StoredReading, read_stimulator
from thecal.clinic.stimulator_workflow import (
    StimProgramPreview,
    StimulatorContext,
    StimulatorSummary,
    add_lead,
    change_stim_program,
    preview_stim_program,
    record_battery,
    record_impedances,
    stimulator_summaries,
)
from thecal.clinic.worklist import WorkItem, worklist
from thecal.devices.catalog import DeviceCatalog
from thecal.stimulation.program_file import StimulationFile
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan, resolve
from thecal.therapy.plan_file import PlanFile

U = TypeVar("U", bound=UnitOfWork)
R = TypeVar("R")


@dataclass(frozen=True)
class PatientRecord:
    """What the patient views read in one go: the patient, their devices, the prescription in
    force (None: none yet) and their refills, oldest first."""

    patient: Patient
    devices: tuple[Device, ...]
    prescription: PrescriptionVersion | None
    refills: tuple[RefillRecord, ...]


@dataclass(frozen=True)
class Dashboard:
    """The dashboard's read, one transaction: a page of the calendar, the open alarms, the
    most urgent pump replacements and the names of the patients these mention."""

    today: date
    page: CalendarPage
    alarms: tuple[Alarm, ...]
    plans: tuple[ReplacementPlan, ...]
    names: Mapping[str, str]


@dataclass(frozen=True)
class ImplantReading(Generic[R]):
    """What an interrogation read from the implant: the programmer's ``report`` (shown), the
    ``serial`` that answered and the status snapshot and event log to store."""

    report: R
    serial: str
    status: dict[str, Any]
    log: Sequence[dict[str, Any]]


@dataclass(frozen=True)
class ClinicServices(Generic[U]):
    """The clinic workflows on one unit of work. ``clock`` is the clinic's local time;
    ``soon`` the calendar's look-ahead window (a time; default ``settings.due_soon_window``)."""

    uow: U
    clock: Clock
    library: DrugLibrary
    catalog: DeviceCatalog
    settings: ClinicSettings
    soon: pint.Quantity | None = None
    stimulation: StimulatorContext | None = None  # None: no stimulator catalog loaded

    @property
    def due_soon(self) -> pint.Quantity:
        """The calendar's look-ahead window (a time)."""
        return self.soon if self.soon is not None else self.settings.due_soon_window

    @property
    def registration(self) -> Registration:
        """Register patients, devices, procedures and complications (issue 13)."""
        return Registration(self.uow, self.clock, self.catalog, self.stimulation)

    @property
    def alarms(self) -> AlarmServices:
        """Clinic alarms: list, acknowledge, resolve (:mod:`thecal.clinic.alarms`)."""
        return AlarmServices(self.uow, self.clock)

    @property
    def implant_links(self) -> ImplantLinkServices:
        """Implant links and the writes sent over them (:mod:`thecal.clinic.implant_links`)."""
        return ImplantLinkServices(self.uow, self.clock, self.library, self.catalog)

    def today(self) -> date:
        return self.clock().date()

    def resolve(self, plan: PlanFile) -> ResolvedPlan:
        """``plan`` with its drugs and devices looked up (InputError naming the field)."""
        return resolve(plan.to_typed(), self.library, self.catalog)

    # Reads ---------------------------------------------------------------------------------

    def patients(self) -> tuple[Patient, ...]:
        with self.uow.reader() as repo:
            return tuple(repo.list_patients())

    def patient(self, *, patient_id: str) -> Patient:
        """The patient; :class:`NotFoundError` when there is none."""
        with self.uow.reader() as repo:
            return repo.get_patient(patient_id)

    def patient_record(self, *, patient_id: str) -> PatientRecord:
        """The patient with devices, prescription in force and refills (NotFoundError)."""
        with self.uow.reader() as repo:
            return PatientRecord(
                repo.get_patient(patient_id), tuple(repo.devices_for(patient_id)),
                current_prescription(repo, patient_id), tuple(repo.refills_for(patient_id)),
            )  # fmt: skip

    def interrogations(self, *, patient_id: str) -> tuple[Interrogation, ...]:
        """The patient's stored interrogations, oldest first (NotFoundError: no patient)."""
        with self.uow.reader() as repo:
            repo.get_patient(patient_id)
            return tuple(repo.interrogations_for(patient_id))

    def interrogation(self, *, patient_id: str, interrogation_id: str) -> Interrogation:
        """One stored interrogation of this patient; :class:`NotFoundError` for an unknown
        patient or interrogation, or another patient's (not under this patient)."""
        with self.uow.reader() as repo:
            repo.get_patient(patient_id)
            record = repo.get_interrogation(interrogation_id)
        if record.patient_id != patient_id:
            raise NotFoundError("interrogation", interrogation_id)
        return record

    def calendar(
        self, *, statuses: Sequence[RefillStatus], limit: int | None, offset: int = 0
    ) -> CalendarPage:
        """One page of the refill calendar today (counts for the whole clinic)."""
        with self.uow.reader() as repo:
            return calendar_page(repo, self.today(), self.due_soon, statuses, limit, offset)

    def dashboard(
        self, *, statuses: Sequence[RefillStatus], rows: int, replacements: int
    ) -> Dashboard:
        """Counts for the whole clinic and the first ``rows`` calendar entries of ``statuses``,
        open alarms and the first ``replacements`` pump replacement plans."""
        today = self.today()
        with self.uow.reader() as repo:
            page = calendar_page(repo, today, self.due_soon, statuses, rows)
            alarms = tuple(repo.open_alarms())
            specs = {s.model: s for s in self.catalog.pumps}
            plans = replacement_plans(repo, specs, today, self.settings, limit=replacements)
            shown = {a.patient_id for a in alarms} | {r.patient_id for r in plans}
            names = {pid: repo.get_patient(pid).display_name for pid in shown}
        return Dashboard(today, page, alarms, plans, names)

    def worklist(self) -> tuple[WorkItem, ...]:
        """Open alarms, hard reconciliation findings, findings of latest refills and of the
        stimulators, and overdue refills, most severe first."""
        with self.uow.reader() as repo:
            return worklist(repo, self.today(), self.due_soon, stimulation=self.stimulation,
                            settings=self.settings, catalog=self.catalog)  # fmt: skip

    # Refills -------------------------------------------------------------------------------

    def preview_refill(self, *, actor: User, patient_id: str, entry: RefillInput) -> RefillOutcome:
        """Every number and finding of a refill now, nothing written (any signed-in user)."""
        with self.uow.reader() as repo:
            return preview_refill(
                repo,
                self.library,
                self.catalog,
                patient_id=patient_id,
                entry=entry,
                at=self.clock(),
                by=actor.username,
            )

    def review_refill(self, *, actor: User, patient_id: str, entry: RefillInput) -> RefillOutcome:
        """The review step of recording a refill: :meth:`preview_refill` for a user who may
        record refills (:class:`PermissionDenied` for a viewer, before anything is computed)."""
        if not actor.can_write:
            raise PermissionDenied(actor.username, actor.role.value, "record refills")
        return self.preview_refill(actor=actor, patient_id=patient_id, entry=entry)

    def record_refill(
        self, *, actor: User, patient_id: str, entry: RefillInput,
        patient_version: int | None = None,
    ) -> RefillOutcome:  # fmt: skip
        """Check and store a refill done now (see :func:`~thecal.clinic.refill_workflow.
        record_refill`): PermissionDenied for a viewer, OverrideNotAllowed for a reason only a
        physician may give, OverrideError, ConcurrentEditError on a stale ``patient_version``."""
        return record_refill(
            self.uow,
            self.clock,
            self.library,
            self.catalog,
            actor=actor,
            patient_id=patient_id,
            entry=entry,
            patient_version=patient_version,
        )

    # Program changes -----------------------------------------------------------------------

    def preview_program_change(
        self, *, actor: User, patient_id: str, plan: PlanFile
    ) -> ProgramPreview:
        """The program change checked now, nothing written; a nurse outside the prescription
        and a viewer are refused here already (:class:`PermissionDenied`)."""
        with self.uow.reader() as repo:
            return preview_program_change(
                repo,
                self.library,
                self.catalog,
                patient_id=patient_id,
                plan=plan,
                at=self.clock(),
                actor=actor,
            )

    def change_program(
        self, *, actor: User, patient_id: str, plan: PlanFile, reason: str,
        overrides: Mapping[str, str] | None = None, patient_version: int | None = None,
    ) -> ProgramOutcome:  # fmt: skip
        """Store ``plan`` as the next prescription (see :func:`~thecal.clinic.program_workflow.
        change_program`); the role, the nurse's bounds and the reasons are checked in the
        write's transaction."""
        return change_program(self.uow, self.clock, self.library, self.catalog, actor=actor,
                              patient_id=patient_id, plan=plan, reason=reason, overrides=overrides,
                              patient_version=patient_version)  # fmt: skip

    # Interrogations ------------------------------------------------------------------------

    def pump_in_place(self, *, patient_id: str) -> Device | None:
        """The patient's implanted pump (None: none); NotFoundError when no such patient."""
        with self.uow.reader() as repo:
            repo.get_patient(patient_id)
            return pump_in_place(repo, patient_id)

    def interrogate(
        self, *, actor: User, patient_id: str, read: Callable[[Device], ImplantReading[R]]
    ) -> tuple[ImplantReading[R], Interrogation]:
        """Read the patient's pump with ``read`` (the edge's telemetry link) and store the
        snapshot. The role is checked before the implant is contacted: a viewer may not
        interrogate (:class:`PermissionDenied`). InputError when the patient has no pump in
        place or another implant answered; ``read``'s own errors pass through."""
        if not actor.can_write:
            raise PermissionDenied(actor.username, actor.role.value, "interrogate implants")
        pump = self.pump_in_place(patient_id=patient_id)
        if pump is None:
            raise NotFoundError("device", f"pump in place for patient {patient_id}")
        reading = read(pump)
        stored = self.import_interrogation(actor=actor, patient_id=patient_id,
                                           serial=reading.serial, status=reading.status,
                                           log=reading.log)  # fmt: skip
        return reading, stored

    def import_interrogation(
        self, *, actor: User, patient_id: str, serial: str, status: dict[str, Any],
        log: Sequence[dict[str, Any]],
    ) -> Interrogation:  # fmt: skip
        """Store an interrogation snapshot read elsewhere, reconciled with the record (see
        :func:`~thecal.clinic.interrogation.record_interrogation`)."""
        reconciled = Reconcile(self.library, self.catalog, self.settings.reconciliation)
        return record_interrogation(self.uow, self.clock, actor, patient_id, serial, status,
                                    log, reconciled)  # fmt: skip

    # Stimulators ---------------------------------------------------------------------------

    def _stim(self) -> StimulatorContext:
        if self.stimulation is None:
            raise NotFoundError("stimulator catalog", "not loaded")
        return self.stimulation

    def stimulator_summary(self, *, patient_id: str) -> tuple[StimulatorSummary, ...]:
        """Every stimulator of the patient: leads, programs, impedance trends, battery and
        findings (NotFoundError: no such patient)."""
        with self.uow.reader() as repo:
            return stimulator_summaries(repo, self._stim(), self.settings, patient_id,
                                        self.today())  # fmt: skip

    def preview_stimulator_program(
        self, *, actor: User, patient_id: str, device_id: str, program: StimulationFile
    ) -> StimProgramPreview:
        """The stimulation gate's check of ``program``, nothing written (PermissionDenied for
        a viewer, or a nurse beyond the current version)."""
        with self.uow.reader() as repo:
            return preview_stim_program(repo, self._stim(), patient_id, device_id, program,
                                        actor)  # fmt: skip

    def add_stimulator_program(
        self, *, actor: User, patient_id: str, device_id: str, program: StimulationFile,
        reason: str, overrides: Mapping[str, str] | None = None,
        patient_version: int | None = None,
    ) -> StimProgramVersion:  # fmt: skip
        """Store the stimulator's next program version through the gate (see
        :func:`~thecal.clinic.stimulator_workflow.change_stim_program`)."""
        return change_stim_program(self.uow, self.clock, self._stim(), actor, patient_id,
                                   device_id, program, reason, overrides,
                                   patient_version=patient_version)  # fmt: skip

    def add_stimulator_lead(
        self, *, actor: User, patient_id: str, device_id: str, name: str, model: str,
        implanted_on: date, position: str = "", patient_version: int | None = None,
    ) -> StimLead:  # fmt: skip
        """Record a lead on the stimulator (a catalog lead model; a viewer may not)."""
        lead = StimLead(patient_id, device_id, name, model, implanted_on, position)
        return add_lead(self.uow, self.clock, self._stim(), actor, lead,
                        patient_version=patient_version)  # fmt: skip

    def record_impedance_set(
        self, *, actor: User, patient_id: str, device_id: str,
        values: Sequence[ContactImpedance], source: MeasurementSource,
        at: datetime | None = None, patient_version: int | None = None,
    ) -> ImpedanceSet:  # fmt: skip
        """Store one set of contact impedances (a viewer may not)."""
        return record_impedances(self.uow, self.clock, actor, patient_id, device_id, values,
                                 source, at, patient_version=patient_version)  # fmt: skip

    def record_battery_reading(
        self, *, actor: User, patient_id: str, device_id: str, source: MeasurementSource,
        voltage: pint.Quantity | None = None, percent: pint.Quantity | None = None,
        recharge: bool = False, recharge_duration: pint.Quantity | None = None,
        at: datetime | None = None, patient_version: int | None = None,
    ) -> BatteryReading:  # fmt: skip
        """Store a battery reading (a voltage and/or a percentage; a viewer may not)."""
        reading = BatteryReading(patient_id, device_id, at or self.clock(), source, voltage,
                                 percent, recharge, recharge_duration, actor.username)  # fmt: skip
        return record_battery(self.uow, self.clock, actor, patient_id, device_id, reading,
                              patient_version=patient_version)  # fmt: skip

    def read_stimulator(
        self, *, actor: User, patient_id: str, device_id: str,
        read: Callable[[Device], StimulatorReading[R]],
    ) -> tuple[StimulatorReading[R], StoredReading]:  # fmt: skip
        """Read the stimulator in place over the edge's link and store its impedances and
        battery voltage (see :func:`~thecal.clinic.stimulator_reading.read_stimulator`)."""
        return read_stimulator(self.uow, self.clock, actor, patient_id, device_id, read)
