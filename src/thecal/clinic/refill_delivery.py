"""A refill sent to the implant over its link before the record changes (the refill wizard's
final confirm), in the order of :mod:`thecal.clinic.program_delivery`: everything the record
will check is checked first, without writing; the edge sends the refill over the link and
reads the pump back; only a confirmed refill is recorded, with its delivery, in one
transaction. A refused or uncertain one stores only the delivery."""

from collections.abc import Callable
from dataclasses import dataclass, replace

from thecal.clinic.authorization import check_reasons
from thecal.clinic.errors import ConcurrentEditError, NotFoundError, PermissionDenied
from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.clinic.model import Device, User
from thecal.clinic.patient_context import pump_in_place
from thecal.clinic.ports import Clock, UnitOfWork
from thecal.clinic.program_delivery import ProgramNotRecorded, PumpWrite, WithDelivery
from thecal.clinic.refill_workflow import RefillInput, RefillOutcome, preview_refill, record_refill
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import OverrideError
from thecal.therapy.library import DrugLibrary
from thecal.units import InputError, fmt

RefillWriter = Callable[[Device, RefillInput], PumpWrite]
"""The edge's link: send the refill (withdrawn, filled, the reasons) to the device."""


@dataclass(frozen=True)
class DeliveredRefill:
    write: PumpWrite
    delivery: LinkDelivery
    refill: RefillOutcome | None  # the stored refill; None unless the pump confirmed


def refill_through_implant(
    uow: UnitOfWork,
    clock: Clock,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    *,
    actor: User,
    patient_id: str,
    entry: RefillInput,
    write: RefillWriter,
    patient_version: int | None = None,
) -> DeliveredRefill:
    """Check ``entry`` as :func:`~thecal.clinic.refill_workflow.record_refill` does, send it to
    the patient's pump with ``write``, and record it only when the pump confirmed it. Raises
    what ``record_refill`` raises, before the pump is contacted."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "record refills")
    with uow.reader() as repo:
        patient = repo.get_patient(patient_id)
        if patient_version is not None and patient.version != patient_version:
            raise ConcurrentEditError("patient", patient_id, patient_version)
        device = pump_in_place(repo, patient_id)
        if device is None:
            raise NotFoundError("device", f"pump in place for patient {patient_id}")
        preview = preview_refill(repo, library, catalog, patient_id=patient_id, entry=entry,
                                 at=clock(), by=actor.username)  # fmt: skip
        check_reasons(repo, actor, patient_id, preview.findings, entry.overrides)
    pumped = write(device, entry)
    # The reasons go with it: the pump's own check may have asked for some the record's
    # findings do not list (the session record shows them).
    payload = (("withdrawn", fmt(entry.withdrawn)), ("filled", fmt(entry.filled)),
               ("drug_lot", entry.drug_lot),
               *((f"reason:{k}", v) for k, v in sorted(entry.overrides.items())))  # fmt: skip
    delivery = LinkDelivery(patient_id, device.id, clock(), actor.username, "refill",
                            pumped.outcome, pumped.detail, payload)  # fmt: skip
    if pumped.outcome is not DeliveryOutcome.CONFIRMED:
        with uow.transaction(actor.username, delivery.at, "refill over the link") as repo:
            repo.add_link_delivery(delivery)
        return DeliveredRefill(pumped, delivery, None)
    recording = WithDelivery(uow, delivery, numbered=False)
    try:
        stored = record_refill(recording, clock, library, catalog, actor=actor,
                               patient_id=patient_id, entry=entry,
                               patient_version=patient_version)  # fmt: skip
    except (InputError, OverrideError) as exc:
        detail = f"confirmed by the pump; the record refused it: {exc}"
        with uow.transaction(actor.username, clock(), "refill over the link") as repo:
            repo.add_link_delivery(replace(delivery, detail=detail))
        raise ProgramNotRecorded(
            "refill", f"the pump has the refill but the record was not changed ({exc}); "
            "interrogate the pump and record the refill", "the record and the pump agreeing",
        ) from None  # fmt: skip
    return DeliveredRefill(pumped, recording.delivery, stored)
