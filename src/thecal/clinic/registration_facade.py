"""The registration workflows on one unit of work, as ``ClinicServices.registration``: what the
web pages, the JSON API and the CLI call (keyword arguments, the actor first)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from thecal.clinic.model import (
    Complication,
    ComplicationCode,
    Device,
    DeviceKind,
    Patient,
    Procedure,
    ProcedureKind,
    User,
)
from thecal.clinic.ports import Clock, UnitOfWork
from thecal.clinic.registration import (
    DeviceDetails,
    DeviceInput,
    PatientDetails,
    PatientInput,
    device_input,
    patient_input,
)
from thecal.clinic.registration_import import ImportRow, RowError, check_rows, import_rows
from thecal.clinic.registration_services import (
    LeadInput,
    PatientPage,
    ProcedureRecord,
    RegisteredPatient,
    record_complication,
    record_procedure,
    register_patient,
    search,
    update_patient,
)
from thecal.clinic.stimulator_model import StimLead
from thecal.clinic.stimulator_workflow import StimulatorContext
from thecal.devices.catalog import DeviceCatalog
from thecal.units import InputError


@dataclass(frozen=True)
class PatientFile:
    """Everything registration recorded about a patient, oldest first."""

    patient: Patient
    details: PatientDetails | None
    devices: tuple[tuple[Device, DeviceDetails | None], ...]
    leads: tuple[StimLead, ...]
    procedures: tuple[Procedure, ...]
    complications: tuple[Complication, ...]


@dataclass(frozen=True)
class Registration:
    """The registration workflows on one unit of work (``ClinicServices.registration``)."""

    uow: UnitOfWork
    clock: Clock
    catalog: DeviceCatalog
    stimulation: StimulatorContext | None

    def patient_input(self, raw: Mapping[str, object]) -> PatientInput:
        """Check a patient's fields as entered (see :func:`~.registration.patient_input`)."""
        return patient_input(raw, self.clock().date())

    def device_input(self, raw: Mapping[str, object], name: str = "device") -> DeviceInput:
        """Check a device's fields as entered (see :func:`~.registration.device_input`)."""
        ipgs = tuple(i.model for i in self.stimulation.catalog.ipgs) if self.stimulation else ()
        return device_input(raw, self.catalog, ipgs, name)

    def register(self, *, actor: User, entry: PatientInput) -> RegisteredPatient:
        return register_patient(self.uow, self.clock, actor, entry)

    def update(
        self, *, actor: User, patient_id: str, version: int, entry: PatientInput
    ) -> RegisteredPatient:
        return update_patient(self.uow, self.clock, actor, patient_id, version, entry)

    def search(self, *, query: str = "", limit: int = 50, offset: int = 0) -> PatientPage:
        return search(self.uow, query, limit, offset)

    def patient_file(self, *, patient_id: str) -> PatientFile:
        """The patient's registration, devices, leads, procedures and complications."""
        with self.uow.reader() as repo:
            patient = repo.get_patient(patient_id)
            devices = tuple(repo.devices_for(patient_id))
            return PatientFile(
                patient, repo.patient_details(patient_id),
                tuple((d, repo.device_details(d.id)) for d in devices),
                tuple(x for d in devices if d.kind is DeviceKind.STIMULATOR
                      for x in repo.stim_leads_for(d.id)),
                tuple(repo.procedures_for(patient_id)), tuple(repo.complications_for(patient_id)),
            )  # fmt: skip

    def procedure(
        self, *, actor: User, patient_id: str, kind: ProcedureKind, performed_on: date,
        placed: Sequence[DeviceInput] = (), removed: Sequence[str] = (),
        leads: Sequence[LeadInput] = (), notes: str = "", patient_version: int | None = None,
    ) -> ProcedureRecord:  # fmt: skip
        return record_procedure(
            self.uow, self.clock, self.stimulation, actor, patient_id=patient_id, kind=kind,
            performed_on=performed_on, placed=placed, removed=removed, leads=leads, notes=notes,
            patient_version=patient_version,
        )  # fmt: skip

    def complication(
        self, *, actor: User, patient_id: str, code: ComplicationCode, occurred_on: date,
        device_id: str | None = None, notes: str = "", patient_version: int | None = None,
    ) -> Complication:  # fmt: skip
        return record_complication(
            self.uow, self.clock, actor, patient_id=patient_id, code=code,
            occurred_on=occurred_on, device_id=device_id, notes=notes,
            patient_version=patient_version,
        )  # fmt: skip

    def user(self, username: str) -> User:
        """The clinic user ``username`` (the CLI's actor); InputError naming ``user``."""
        with self.uow.reader() as repo:
            found = repo.user_by_name(username.strip())
        if found is None:
            raise InputError("user", f"no clinic user {username!r}", "an existing username")
        return found

    def find(self, *, key: str) -> Patient:
        """The patient with MRN ``key``, else with id ``key`` (NotFoundError)."""
        with self.uow.reader() as repo:
            found = repo.patient_by_mrn(key)
            return found if found is not None else repo.get_patient(key.strip())

    def check_import(
        self, rows: Sequence[tuple[int, Mapping[str, str]]]
    ) -> tuple[list[ImportRow], list[RowError]]:
        """Check registry rows (see :mod:`~thecal.clinic.registration_import`)."""
        stimulators = self.stimulation.catalog if self.stimulation else None
        return check_rows(rows, self.clock().date(), self.catalog, stimulators)

    def import_rows(self, *, actor: User, rows: Sequence[ImportRow]) -> tuple[Patient, ...]:
        """Register checked rows in one transaction (ImportRefused: nothing written)."""
        return import_rows(self.uow, self.clock, actor, rows)
