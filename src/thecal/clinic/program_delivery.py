"""A program change sent to the implant over its link before the record changes.

The order is what makes the record trustworthy: everything the record will check (role,
nurse bounds, findings and their reasons, the patient version) is checked first, without
writing; then the edge writes the program over the link (stage -> read back -> verify ->
commit, :mod:`thecal.programmer.clinician_program`); only when the pump confirmed it is the new
prescription version stored, with the delivery, in one transaction. A refused write stores
only the delivery (nothing changed on the pump, nothing in the record). A write whose
acknowledgement was lost stores the delivery as *uncertain* and no prescription: the pump may
or may not run the new program, and it must be interrogated before anything else.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from thecal.clinic.authorization import check_reasons
from thecal.clinic.errors import ConcurrentEditError, NotFoundError, PermissionDenied
from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.clinic.model import Device, User
from thecal.clinic.patient_context import pump_in_place
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.program_workflow import (
    ProgramOutcome,
    change_program,
    preview_program_change,
)
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Finding, OverrideError
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan_file import PlanFile
from thecal.units import InputError

UNCERTAIN_MESSAGE = "The pump may or may not run the new program: interrogate before anything else."


@dataclass(frozen=True)
class PumpWrite:
    """What the pump said to a program write: ``detail`` in words a nurse understands, and
    the pump's own findings when it refused."""

    outcome: DeliveryOutcome
    detail: str
    device_findings: tuple[Finding, ...] = ()


ProgramWriter = Callable[[Device, PlanFile, Mapping[str, str]], PumpWrite]
"""The edge's link: write the plan (as it will be stored) to the device, with the override
reasons given for the soft findings."""


@dataclass(frozen=True)
class DeliveredProgram:
    write: PumpWrite
    delivery: LinkDelivery
    program: ProgramOutcome | None  # the stored change; None unless the pump confirmed


class ProgramNotRecorded(InputError):
    """The pump confirmed the program but the record refused it (changed meanwhile)."""


class WithDelivery:
    """``uow`` whose transaction also stores ``delivery`` just before it commits; with
    ``numbered`` the delivery carries the prescription version the transaction stored."""

    def __init__(self, uow: UnitOfWork, delivery: LinkDelivery, numbered: bool = True) -> None:
        self._uow = uow
        self.delivery = delivery
        self._numbered = numbered

    def reader(self) -> AbstractContextManager[ClinicRepository]:
        return self._uow.reader()

    @contextmanager
    def transaction(self, actor: str, at: datetime, reason: str) -> Iterator[ClinicRepository]:
        with self._uow.transaction(actor, at, reason) as repo:
            yield repo
            versions = repo.prescriptions_for(self.delivery.patient_id)
            version = versions[-1].version if self._numbered and versions else None
            self.delivery = replace(self.delivery, at=at, prescription_version=version)
            repo.add_link_delivery(self.delivery)


def program_through_implant(
    uow: UnitOfWork,
    clock: Clock,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    *,
    actor: User,
    patient_id: str,
    plan: PlanFile,
    reason: str,
    write: ProgramWriter,
    overrides: Mapping[str, str] | None = None,
    patient_version: int | None = None,
) -> DeliveredProgram:
    """Check ``plan`` as :func:`~thecal.clinic.program_workflow.change_program` does, write it
    to the patient's pump with ``write``, and record it only when the pump confirmed it (see
    the module docstring). Raises what ``change_program`` raises, before the pump is
    contacted; :class:`ProgramNotRecorded` when the pump confirmed and the record then refused
    (the delivery is stored: the pump runs a program the record does not have)."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "change programs")
    if not reason.strip():
        raise InputError("program_change.reason", "is required", "why the program changes")
    reasons = dict(overrides or {})
    with uow.reader() as repo:
        patient = repo.get_patient(patient_id)
        if patient_version is not None and patient.version != patient_version:
            raise ConcurrentEditError("patient", patient_id, patient_version)
        device = pump_in_place(repo, patient_id)
        if device is None:
            raise NotFoundError("device", f"pump in place for patient {patient_id}")
        preview = preview_program_change(repo, library, catalog, patient_id=patient_id,
                                         plan=plan, at=clock(), actor=actor)  # fmt: skip
        check_reasons(repo, actor, patient_id, preview.findings, reasons)
    pumped = write(device, preview.plan, reasons)
    sent = (("plan", preview.plan.model_dump_json(exclude_none=True)),)
    delivery = LinkDelivery(patient_id, device.id, clock(), actor.username, "program",
                            pumped.outcome, pumped.detail, sent)  # fmt: skip
    if pumped.outcome is not DeliveryOutcome.CONFIRMED:
        with uow.transaction(actor.username, delivery.at, reason) as repo:
            repo.add_link_delivery(delivery)
        return DeliveredProgram(pumped, delivery, None)
    recording = WithDelivery(uow, delivery)
    try:
        # The same plan the pump confirmed: change_program re-checks it in its transaction.
        stored = change_program(recording, clock, library, catalog, actor=actor,
                                patient_id=patient_id, plan=plan, reason=reason,
                                overrides=reasons, patient_version=patient_version)  # fmt: skip
    except (InputError, OverrideError) as exc:
        detail = f"confirmed by the pump; the record refused it: {exc}"
        unrecorded = replace(delivery, detail=detail)
        with uow.transaction(actor.username, clock(), reason) as repo:
            repo.add_link_delivery(unrecorded)
        raise ProgramNotRecorded(
            "program_change", f"the pump runs the new program but the record was not changed "
            f"({exc}); interrogate the pump and record its program", "the record and the pump "
            "agreeing",
        ) from None  # fmt: skip
    return DeliveredProgram(pumped, recording.delivery, stored)
