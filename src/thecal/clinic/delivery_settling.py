"""An uncertain delivery settled by the next interrogation of its implant.

A program or refill sent over the link whose acknowledgement was lost is stored as an
*uncertain* :class:`~thecal.clinic.implant_link_model.LinkDelivery` and nothing else: the pump
may or may not have taken it (:mod:`thecal.clinic.program_delivery`). Until it is settled it
is a hard item on the worklist. The next interrogation of that implant settles it, in the
interrogation's own transaction (audited with it), before the snapshot is compared with the
record:

- a program is *settled-confirmed* when the pump's active program has no difference from the
  plan sent (:func:`~thecal.clinic.reconciliation.program_differences`: drugs,
  concentrations, schedule, daily doses, patient bolus); the plan is then recorded as the next
  prescription version (by whoever sent it, with a reason saying how it was confirmed) and the
  refill forecast revised, as a confirmed delivery would have. Of several uncertain programs
  the newest that matches is the one the pump runs; the others are *settled-not-applied*;
- a refill is *settled-confirmed* when the pump's log shows a refill of the volume sent that
  the record does not have (after the record's last refill, the log's device times brought to
  clinic time by the snapshot's device clock); the nurse then records the refill;
- otherwise *settled-not-applied*: the pump did not take it. When the snapshot cannot tell (no
  readable program, no device clock), the delivery stays uncertain.
"""

from dataclasses import replace
from datetime import datetime
from typing import Any

from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.clinic.model import Device, Interrogation, PrescriptionVersion, ProgramChange
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.program_workflow import revised_refill
from thecal.clinic.reconciliation import program_differences
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.log import EventKind
from thecal.devices.pump import Program
from thecal.therapy.compare import equal
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import resolve
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_, Dimension, InputError, parse_quantity

SOURCE = (
    "Thecal link protocol (docs/link-protocol.md §10): a write without acknowledgement may "
    "have run; re-read the implant before any new dosing command"
)


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _last_fill(repo: ClinicRepository, patient_id: str) -> datetime | None:
    """When the record's last fill was (the last refill, else the prescription's fill)."""
    refills = repo.refills_for(patient_id)
    if refills:
        return refills[-1].performed_at
    versions = repo.prescriptions_for(patient_id)
    fill = versions[-1].plan().fill if versions else None
    return fill.at if fill is not None else None


def _refill_applied(repo: ClinicRepository, record: Interrogation, d: LinkDelivery) -> bool | None:
    """True when the snapshot's log has a refill of the volume sent, after the record's last
    fill and not after the delivery (clinic time, through the snapshot's device clock); None
    when the snapshot cannot tell (no device clock) or the delivery names no volume."""
    device_time = _time(record.status.get("device_time"))
    try:
        sent = parse_quantity(dict(d.payload)["filled"], "delivery.filled", Dimension.VOLUME)
    except (KeyError, InputError):
        return None
    if device_time is None:
        return None
    offset = record.at - device_time  # clinic time = device time + offset
    after = _last_fill(repo, d.patient_id)
    for e in record.log:
        at = _time(e.get("at")) if isinstance(e, dict) else None
        if at is None or e.get("kind") != EventKind.REFILL.value:
            continue
        if (after is not None and at + offset <= after) or at + offset > d.at:
            continue  # a fill the record has, or one after this delivery
        for v in e.get("values") or ():
            if isinstance(v, list) and len(v) == 3 and v[0] == "volume" and v[2] == "mL":
                number = isinstance(v[1], int | float) and not isinstance(v[1], bool)
                if number and equal(Q_(float(v[1]), "mL"), sent):
                    return True
    return False


def _settled(d: LinkDelivery, applied: bool, record: Interrogation, why: str) -> LinkDelivery:
    outcome = DeliveryOutcome.SETTLED_CONFIRMED if applied else DeliveryOutcome.SETTLED_NOT_APPLIED
    said = "took effect" if applied else "did not take effect"
    detail = (f"{d.detail} — settled by the interrogation of {record.at:%Y-%m-%d %H:%M}: "
              f"the {d.what} {said} ({why}).")  # fmt: skip
    return replace(d, outcome=outcome, detail=detail)


def _record_program(
    repo: ClinicRepository, library: DrugLibrary, catalog: DeviceCatalog, d: LinkDelivery,
    plan: PlanFile, record: Interrogation,
) -> int:  # fmt: skip
    """Record ``plan`` (the pump runs it) as the next prescription version; its number."""
    versions = repo.prescriptions_for(d.patient_id)
    old = versions[-1].version if versions else None
    version = (old or 0) + 1
    reason = (f"program sent over the link at {d.at:%Y-%m-%d %H:%M} by {d.by} (acknowledgement "
              f"lost), confirmed on the pump by the interrogation of "
              f"{record.at:%Y-%m-%d %H:%M}")  # fmt: skip
    text = plan.model_dump_json(exclude_none=True)
    repo.add_prescription(PrescriptionVersion(d.patient_id, version, text, d.by, reason,
                                              record.at))  # fmt: skip
    # The gate's findings and reasons were checked and given when it was sent.
    repo.add_program_change(ProgramChange(d.patient_id, record.at, old, version, d.by, reason))
    try:
        revision = revised_refill(repo, library, catalog, patient_id=d.patient_id,
                                  resolved=resolve(plan.to_typed(), library, catalog),
                                  at=record.at)  # fmt: skip
    except InputError:
        revision = None  # the forecast cannot be redone: never a reason to lose the reading
    if revision is not None and revision.moved:
        repo.revise_refill_forecast(revision.record)
    return version


def settle_deliveries(
    repo: ClinicRepository, library: DrugLibrary, catalog: DeviceCatalog, record: Interrogation,
    device: Device, program: Program | None, unreadable: str | None,
) -> tuple[LinkDelivery, ...]:  # fmt: skip
    """Settle the uncertain deliveries to ``device`` sent before ``record`` (see the module
    doc) inside the interrogation's transaction; the deliveries settled, as stored.
    ``program`` is the snapshot's active program (None: none), ``unreadable`` why it could not
    be decoded (:func:`~thecal.clinic.reconcile_interrogation.implant_program`)."""
    pending = [d for d in repo.unsettled_link_deliveries(record.patient_id)
               if d.device_id == device.id and d.at <= record.at]  # fmt: skip
    settled: list[LinkDelivery] = []
    running_found = False
    for d in sorted(pending, key=lambda d: (d.at, d.id), reverse=True):  # newest first
        if d.what == "program":
            if unreadable is not None:
                continue  # cannot tell: stays uncertain
            try:
                plan = PlanFile.model_validate_json(dict(d.payload)["plan"])
                sent = resolve(plan.to_typed(), library, catalog)
            except (KeyError, ValueError):  # InputError and pydantic's errors are ValueErrors
                continue
            same = program is not None and not program_differences(program, sent)
            if same and not running_found:
                running_found = True
                version = _record_program(repo, library, catalog, d, plan, record)
                done = replace(_settled(d, True, record, f"the pump runs it; recorded as "
                                        f"prescription version {version}"),
                               prescription_version=version)  # fmt: skip
            else:
                why = "a later program is running" if same else "the pump runs another program"
                done = _settled(d, False, record, why)
        elif d.what == "refill":
            applied = _refill_applied(repo, record, d)
            if applied is None:
                continue
            why = ("the pump's log shows it: record the refill" if applied
                   else "the pump's log shows no refill of this volume")  # fmt: skip
            done = _settled(d, applied, record, why)
        else:
            continue
        repo.settle_link_delivery(done)
        settled.append(done)
    return tuple(settled)
