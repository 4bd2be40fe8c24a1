"""A refill with a concentration change sent over the link: the refill, then the new program
(stage -> read back -> verify -> commit), then the bridge bolus; only what the pump confirmed
is recorded.

Everything the record will check (role, the refill's and the program's findings on the
reservoir after the refill, their reasons, the patient version) is checked first, without
writing. Then:

- refill refused or uncertain: only its delivery is stored; the program is not sent.
- refill confirmed, program confirmed: the refill, the new prescription version and both
  deliveries in one transaction (:func:`~thecal.clinic.refill_program.record_refill_program`);
  then the bridge bolus is sent and its delivery stored.
- refill confirmed, program refused or uncertain: the refill alone (its NEW concentrations,
  the prescription unchanged) with both deliveries: the pump runs the OLD program at the NEW
  concentration (:data:`OLD_PROGRAM`), or may (uncertain).

The bridge bolus: the programmer's bridge bolus runs on top of the basal rate, so the bridge
program (the dead volume at the bridge rate, :mod:`thecal.therapy.bridge_bolus`) is sent as
(bridge rate − new rate) × bridge duration over the bridge duration: basal + bolus flow is
the bridge rate, and the pump pushes out exactly the dead volume in that time. When the
bridge rate is not above the new rate (a weaker new fill) no bolus can slow the pump: it is
not sent (:data:`BRIDGE_BY_HAND`).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import pint

from thecal.clinic.authorization import check_reasons
from thecal.clinic.errors import ConcurrentEditError, NotFoundError, PermissionDenied
from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.clinic.model import Device, User
from thecal.clinic.patient_context import pump_in_place
from thecal.clinic.ports import Clock, UnitOfWork
from thecal.clinic.program_delivery import ProgramNotRecorded, ProgramWriter, PumpWrite
from thecal.clinic.program_workflow import ProgramOutcome
from thecal.clinic.refill_concentration import ConcentrationChange
from thecal.clinic.refill_delivery import RefillWriter
from thecal.clinic.refill_program import (
    change_notes,
    preview_refill_program,
    record_refill_only,
    record_refill_program,
)
from thecal.clinic.refill_workflow import RefillInput, RefillOutcome
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.compare import above
from thecal.therapy.findings import OverrideError
from thecal.therapy.library import DrugLibrary
from thecal.units import InputError, fmt

OLD_PROGRAM = "The pump still runs the OLD program at the NEW concentration: reprogram now."
BRIDGE_BY_HAND = "bridge bolus NOT sent: give it with the clinician programmer"
NOT_PROGRAMMED = (
    "The pump was NOT programmed (no link): program the new concentration and give the bridge "
    "bolus with the clinician programmer now."
)

BridgeWriter = Callable[[Device, pint.Quantity, pint.Quantity, Mapping[str, str]], PumpWrite]
"""The edge's link: a bridge bolus of ``volume`` (mL) over ``duration`` (h) with the reasons."""


@dataclass(frozen=True)
class BridgeDose:
    """The bolus sent for the bridge: ``volume`` (mL) over ``duration`` (h), on top of the
    new basal rate; ``formula`` its arithmetic."""

    volume: pint.Quantity
    duration: pint.Quantity
    formula: str


def bridge_dose(change: ConcentrationChange) -> BridgeDose | None:
    """The bridge as a bolus on top of the new program (module docstring); None when no
    bolus can give it (no bridge program, or its rate is not above the new rate)."""
    p = change.bridge.program
    if p is None or not above(p.rate, p.then_rate):
        return None
    volume = ((p.rate - p.then_rate) * p.duration).to("mL")
    formula = (
        f"bolus = (bridge rate {fmt(p.rate)} − new rate {fmt(p.then_rate)}) × "
        f"{fmt(p.duration)} = {fmt(volume)} over {fmt(p.duration)} (the basal runs on: "
        f"{fmt(p.volume)} in all)"
    )
    return BridgeDose(volume, p.duration.to("h"), formula)


def bridge_plan(change: ConcentrationChange, linked: bool) -> str:
    """What is done with the bridge bolus, in words (for the record and the page)."""
    dose = bridge_dose(change)
    if dose is None:
        p = change.bridge.program
        why = (
            f": the bridge rate {fmt(p.rate)} is not above the new rate {fmt(p.then_rate)}, "
            "a bolus cannot slow the pump"
            if p is not None
            else ""
        )
        return BRIDGE_BY_HAND + why
    if not linked:
        return f"{BRIDGE_BY_HAND} (no link): {dose.formula}"
    return f"sent over the link after the program: {dose.formula}"


@dataclass(frozen=True)
class DeliveredChange:
    """What each step did: the writes (None: not sent), the deliveries as stored, and what
    was recorded (``program`` None: the prescription did not change)."""

    refill_write: PumpWrite
    program_write: PumpWrite | None
    bridge_write: PumpWrite | None
    bridge: str
    deliveries: tuple[LinkDelivery, ...]
    refill: RefillOutcome | None
    program: ProgramOutcome | None

    @property
    def old_program_running(self) -> bool:
        """The refill is recorded but the new program is not: reprogram now."""
        return self.refill is not None and self.program is None


def change_through_implant(
    uow: UnitOfWork, clock: Clock, library: DrugLibrary, catalog: DeviceCatalog, *,
    actor: User, patient_id: str, entry: RefillInput, change: ConcentrationChange,
    write_refill: RefillWriter, write_program: ProgramWriter, write_bridge: BridgeWriter,
    patient_version: int | None = None,
) -> DeliveredChange:  # fmt: skip
    """Send the refill, the new program and the bridge bolus in that order and record only
    what the pump confirmed (module docstring). Raises what the record would raise before
    the pump is contacted; :class:`ProgramNotRecorded` when the pump confirmed and the record
    then refused (the deliveries are stored)."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "record refills")
    with uow.reader() as repo:
        patient = repo.get_patient(patient_id)
        if patient_version is not None and patient.version != patient_version:
            raise ConcurrentEditError("patient", patient_id, patient_version)
        device = pump_in_place(repo, patient_id)
        if device is None:
            raise NotFoundError("device", f"pump in place for patient {patient_id}")
        preview = preview_refill_program(repo, library, catalog, patient_id=patient_id,
                                         entry=entry, change=change, at=clock(),
                                         actor=actor)  # fmt: skip
        check_reasons(repo, actor, patient_id, preview.findings, entry.overrides)
    reasons = dict(entry.overrides)
    bridge = bridge_plan(change, linked=True)

    def delivery(what: str, write: PumpWrite, payload: tuple[tuple[str, str], ...]) -> LinkDelivery:
        return LinkDelivery(patient_id, device.id, clock(), actor.username, what, write.outcome,
                            write.detail, payload)  # fmt: skip

    refilled = write_refill(device, entry)
    sent = (("withdrawn", fmt(entry.withdrawn)), ("filled", fmt(entry.filled)),
            ("drug_lot", entry.drug_lot),
            *((f"concentration:{d}", fmt(n)) for d, _, n in change.concentrations),
            *((f"reason:{k}", v) for k, v in sorted(reasons.items())))  # fmt: skip
    d_refill = delivery("refill", refilled, sent)
    if refilled.outcome is not DeliveryOutcome.CONFIRMED:
        with uow.transaction(actor.username, d_refill.at, "refill over the link") as repo:
            repo.add_link_delivery(d_refill)
        return DeliveredChange(refilled, None, None, bridge, (d_refill,), None, None)
    plan = preview.program.plan
    programmed = write_program(device, plan, reasons)
    notes = change_notes(change, bridge)
    d_program = delivery("program", programmed,
                         (("plan", plan.model_dump_json(exclude_none=True)), *notes))  # fmt: skip
    pair = (d_refill, d_program)
    try:
        if programmed.outcome is not DeliveryOutcome.CONFIRMED:
            only, stored = record_refill_only(uow, clock, library, catalog, actor=actor,
                                              patient_id=patient_id, entry=entry, change=change,
                                              deliveries=pair,
                                              patient_version=patient_version)  # fmt: skip
            return DeliveredChange(refilled, programmed, None, bridge, stored, only, None)
        both, stored = record_refill_program(uow, clock, library, catalog, actor=actor,
                                             patient_id=patient_id, entry=entry, change=change,
                                             bridge=bridge, deliveries=pair,
                                             patient_version=patient_version)  # fmt: skip
    except (InputError, OverrideError) as exc:
        what = "the refill and its program" if programmed.outcome is DeliveryOutcome.CONFIRMED \
            else "the refill"  # fmt: skip
        with uow.transaction(actor.username, clock(), "refill over the link") as repo:
            for d in pair:
                repo.add_link_delivery(replace(d, detail=f"{d.detail}; the record refused it: "
                                               f"{exc}"))  # fmt: skip
        raise ProgramNotRecorded(
            "refill", f"the pump has {what} but the record was not changed ({exc}); "
            "interrogate the pump and record what it holds", "the record and the pump agreeing",
        ) from None  # fmt: skip
    dose = bridge_dose(change)
    if dose is None:
        return DeliveredChange(
            refilled, programmed, None, bridge, stored, both.refill, both.program
        )
    bolus = write_bridge(device, dose.volume, dose.duration, reasons)
    d_bridge = delivery("bridge", bolus, (("refill", both.refill.record.id),
                                          ("volume", fmt(dose.volume)),
                                          ("duration", fmt(dose.duration)),
                                          ("formula", dose.formula)))  # fmt: skip
    with uow.transaction(actor.username, d_bridge.at, "bridge bolus over the link") as repo:
        repo.add_link_delivery(d_bridge)
    return DeliveredChange(refilled, programmed, bolus, bridge, (*stored, d_bridge),
                           both.refill, both.program)  # fmt: skip


__all__ = [
    "BRIDGE_BY_HAND",
    "NOT_PROGRAMMED",
    "OLD_PROGRAM",
    "BridgeDose",
    "BridgeWriter",
    "DeliveredChange",
    "bridge_dose",
    "bridge_plan",
    "change_through_implant",
]
