"""Registration workflows: register and update a patient, search and page the registry, record
implant, revision, replacement and explant procedures with the devices (and stimulator leads)
they place, and complications. Each write is one audited transaction; a viewer is refused
before anything is read; the checks of :mod:`thecal.clinic.registration` and the device
lifecycle (:func:`thecal.clinic.lifecycle.check_procedure`) run first, so a bad value writes
nothing.

The first prescription is the program workflow's first version
(:meth:`thecal.clinic.services.ClinicServices.change_program` with no prescription yet: a
physician's, through the same safety gate).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from thecal.clinic.errors import LifecycleError, NotFoundError, PermissionDenied
from thecal.clinic.lifecycle import check_procedure
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
from thecal.clinic.patient_context import with_version
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.registration import (
    DeviceDetails,
    DeviceInput,
    PatientDetails,
    PatientInput,
    text,
)
from thecal.clinic.stimulator_model import StimLead
from thecal.clinic.stimulator_workflow import StimulatorContext
from thecal.units import InputError

PAGE_MAX = 500  # rows per page at most: a storage bound, not a clinical one


@dataclass(frozen=True)
class RegisteredPatient:
    """A patient with the registration details (None: registered before issue 13)."""

    patient: Patient
    details: PatientDetails | None


@dataclass(frozen=True)
class PatientPage:
    """One page of the registry: the patients shown and how many match in all."""

    patients: tuple[Patient, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class LeadInput:
    """A stimulator lead implanted with its IPG: ``device`` is the index of the stimulator
    among the procedure's placed devices."""

    name: str
    model: str
    position: str = ""
    device: int = 0


@dataclass(frozen=True)
class ProcedureRecord:
    """What a procedure wrote: the procedure, the devices it placed and the leads."""

    procedure: Procedure
    placed: tuple[Device, ...]
    leads: tuple[StimLead, ...]


def _writer(actor: User, action: str) -> None:
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, action)


def _details(patient_id: str, entry: PatientInput) -> PatientDetails:
    return PatientDetails(patient_id, entry.date_of_birth, entry.sex, entry.contact,
                          entry.diagnoses)  # fmt: skip


def _spasticity(entry: PatientInput) -> str | None:
    return next((d.detail for d in entry.diagnoses if d.code.value == "spasticity"), None)


def register_patient(
    uow: UnitOfWork, clock: Clock, actor: User, entry: PatientInput
) -> RegisteredPatient:
    """Register a new patient (the MRN must be new). One transaction, audited."""
    _writer(actor, "register patients")
    patient = Patient(entry.mrn, entry.display_name, entry.date_of_birth.year,
                      spasticity_origin=_spasticity(entry))  # fmt: skip
    details = _details(patient.id, entry)
    with uow.transaction(actor.username, clock(), "patient registered") as repo:
        _mrn_free(repo, entry.mrn, None)
        repo.add_patient(patient)
        repo.put_patient_details(details)
        stored = repo.get_patient(patient.id)  # with the version the writes moved it to
    return RegisteredPatient(stored, details)


def _mrn_free(repo: ClinicRepository, mrn: str, patient_id: str | None) -> None:
    other = repo.patient_by_mrn(mrn)
    if other is not None and other.id != patient_id:
        raise InputError("patient.mrn", f"{mrn!r} is already registered", "a new record number")


def update_patient(
    uow: UnitOfWork, clock: Clock, actor: User, patient_id: str, version: int, entry: PatientInput
) -> RegisteredPatient:
    """Replace the patient's registration with ``entry`` if the patient is still at
    ``version`` (:class:`~thecal.clinic.errors.ConcurrentEditError` otherwise: nothing saved)."""
    _writer(actor, "edit patients")
    with uow.transaction(actor.username, clock(), "patient registration updated") as repo:
        stored = repo.get_patient(patient_id)
        _mrn_free(repo, entry.mrn, patient_id)
        changed = replace(
            with_version(stored, version), mrn=entry.mrn, display_name=entry.display_name,
            birth_year=entry.date_of_birth.year,
            spasticity_origin=_spasticity(entry) or stored.spasticity_origin,
        )  # fmt: skip
        repo.update_patient(changed)
        details = _details(patient_id, entry)
        repo.put_patient_details(details)
        new = repo.get_patient(patient_id)
    return RegisteredPatient(new, details)


def registered(repo: ClinicRepository, patient_id: str) -> RegisteredPatient:
    """The patient and their details (:class:`NotFoundError`)."""
    return RegisteredPatient(repo.get_patient(patient_id), repo.patient_details(patient_id))


def search(uow: UnitOfWork, query: str, limit: int, offset: int) -> PatientPage:
    """Patients whose MRN, name or id contains ``query`` (case-insensitive; empty: all), by
    MRN. ``limit`` is 1..PAGE_MAX (both ends allowed), ``offset`` 0 or more."""
    if not 1 <= limit <= PAGE_MAX:
        raise InputError("limit", f"got {limit}", f"1 to {PAGE_MAX}")
    if offset < 0:
        raise InputError("offset", f"got {offset}", "0 or more")
    q = text(query, "q", required=False, limit=200)
    with uow.reader() as repo:
        found, total = repo.search_patients(q, limit, offset)
    return PatientPage(tuple(found), total, offset, limit)


def _device(patient_id: str, on: date, entry: DeviceInput, notes: str = "") -> Device:
    return Device(
        patient_id, entry.kind, entry.model, on, entry.serial,
        implanted_length=entry.implanted_length, tip_level=entry.tip_level,
        volume=entry.volume, notes=notes, id=entry.id,
    )  # fmt: skip


def record_procedure(
    uow: UnitOfWork,
    clock: Clock,
    stimulation: StimulatorContext | None,
    actor: User,
    *,
    patient_id: str,
    kind: ProcedureKind,
    performed_on: date,
    placed: Sequence[DeviceInput] = (),
    removed: Sequence[str] = (),
    leads: Sequence[LeadInput] = (),
    notes: str = "",
    patient_version: int | None = None,
) -> ProcedureRecord:
    """Record an implant, trial, revision, replacement (old pump removed and the new one in
    place) or explant: the placed devices with their UDI and pocket side, the removed ones
    marked removed on ``performed_on``, the leads of a placed stimulator — one transaction.
    The device lifecycle rules apply (:func:`~thecal.clinic.lifecycle.check_procedure`)."""
    _writer(actor, "record procedures")
    now = clock()
    notes = text(notes, "procedure.notes", required=False, limit=2000)
    devices = [_device(patient_id, performed_on, d) for d in placed]
    stored_leads = _leads(stimulation, patient_id, performed_on, devices, leads)
    procedure = Procedure(patient_id, kind, performed_on, tuple(d.id for d in devices),
                          tuple(removed), notes, actor.username)  # fmt: skip
    with uow.transaction(actor.username, now, f"{kind.value} recorded") as repo:
        if patient_version is not None:
            repo.update_patient(with_version(repo.get_patient(patient_id), patient_version))
        repo.get_patient(patient_id)
        current = repo.devices_for(patient_id)
        gone = [_own(repo, patient_id, i) for i in removed]
        check_procedure(procedure, devices, gone, current, now.date())
        for d in gone:
            repo.update_device(replace(d, removed_on=performed_on))
        for d, entry in zip(devices, placed, strict=True):
            repo.add_device(d)
            if entry.udi or entry.pocket_side is not None:
                repo.add_device_details(DeviceDetails(d.id, patient_id, entry.udi,
                                                      entry.pocket_side))  # fmt: skip
        for lead in stored_leads:
            repo.add_stim_lead(lead)
        repo.add_procedure(procedure)
    return ProcedureRecord(procedure, tuple(devices), tuple(stored_leads))


def _own(repo: ClinicRepository, patient_id: str, device_id: str) -> Device:
    device = repo.get_device(device_id)
    if device.patient_id != patient_id:
        raise LifecycleError("procedure.removed", f"device {device_id} is not this patient's")
    return device


def _leads(
    stimulation: StimulatorContext | None, patient_id: str, on: date, devices: Sequence[Device],
    leads: Sequence[LeadInput],
) -> list[StimLead]:  # fmt: skip
    # The checks of stimulator_workflow.add_lead, made before the transaction: a catalog model,
    # a name the programs can use (not "case"), each name once per stimulator.
    out: list[StimLead] = []
    for i, lead in enumerate(leads):
        where = f"leads[{i}]"
        if stimulation is None:
            raise NotFoundError("stimulator catalog", "not loaded")
        if not 0 <= lead.device < len(devices) or (
            devices[lead.device].kind is not DeviceKind.STIMULATOR
        ):
            raise InputError(f"{where}.device", "is not a stimulator placed by this procedure",
                             "the index of a placed stimulator")  # fmt: skip
        name = text(lead.name, f"{where}.name", required=True, limit=40)
        if name.casefold() == "case":
            raise InputError(f"{where}.name", f"{name!r} cannot name a lead", "e.g. 'L1'")
        model = stimulation.catalog.lead(lead.model, f"{where}.model").model
        position = text(lead.position, f"{where}.position", required=False, limit=200)
        device_id = devices[lead.device].id
        if any(x.name == name and x.device_id == device_id for x in out):
            raise InputError(f"{where}.name", f"{name!r} is listed twice", "one name per lead")
        out.append(StimLead(patient_id, device_id, name, model, on, position))
    return out


def record_complication(
    uow: UnitOfWork,
    clock: Clock,
    actor: User,
    *,
    patient_id: str,
    code: ComplicationCode,
    occurred_on: date,
    device_id: str | None = None,
    notes: str = "",
    patient_version: int | None = None,
) -> Complication:
    """Record a complication on ``occurred_on`` (not in the future), optionally of one of the
    patient's devices; OTHER needs its notes. One transaction, audited."""
    _writer(actor, "record complications")
    now = clock()
    if occurred_on > now.date():
        raise InputError("complication.occurred_on", f"{occurred_on} is in the future",
                         f"on or before {now.date()}")  # fmt: skip
    notes = text(notes, "complication.notes", required=code is ComplicationCode.OTHER,
                 limit=2000)  # fmt: skip
    item = Complication(patient_id, code, occurred_on, notes, device_id or None, actor.username)
    with uow.transaction(actor.username, now, f"complication {code.value} recorded") as repo:
        if patient_version is not None:
            repo.update_patient(with_version(repo.get_patient(patient_id), patient_version))
        repo.get_patient(patient_id)
        if item.device_id is not None:
            device = repo.get_device(item.device_id)
            if device.patient_id != patient_id:
                raise InputError("complication.device_id", "is another patient's device",
                                 "one of this patient's devices")  # fmt: skip
        repo.add_complication(item)
    return item
