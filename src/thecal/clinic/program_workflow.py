"""The program-change workflow: the physician's or nurse's plan checked through the safety
gate against the current prescription and what the pump's reservoir holds, the latest refill's
next-refill date revised for the new rate, and the transaction that stores the next
prescription version with its :class:`ProgramChange`.

``preview_program_change`` computes everything without writing (the old-vs-new confirmation
screen); ``change_program`` runs the same computation inside the transaction and stores it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from thecal.clinic.authorization import check_program_change, check_reasons
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import (
    PrescriptionVersion,
    ProgramChange,
    RefillCandidateRecord,
    RefillRecord,
    StoredFinding,
    User,
)
from thecal.clinic.patient_context import (
    current_prescription,
    patient_spec,
    pump_in_place,
    with_version,
)
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.program_history import programs_since_fill
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.compare import above
from thecal.therapy.findings import Code, Finding, Level, needs_reason
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan, resolve
from thecal.therapy.plan_file import PlanFile, PreviousEntry
from thecal.therapy.proposal import ProgramProposal
from thecal.therapy.refill_dates import RefillForecast, forecast
from thecal.therapy.reservoir import Fill
from thecal.therapy.safety_gate import check
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity


@dataclass(frozen=True)
class ProgramOutcome:
    prescription: PrescriptionVersion
    change: ProgramChange
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class RevisedRefill:
    """The latest refill with its next-refill date recomputed for a program change, and the
    findings to show: an info finding when the date moves, and the forecast's own findings
    (a planned appointment now after the low-reservoir alarm needs a reason)."""

    record: RefillRecord
    forecast: RefillForecast
    findings: tuple[Finding, ...]
    moved: bool  # the forecast fields differ from the stored refill's


def revised_refill(
    repo: ClinicRepository,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    *,
    patient_id: str,
    resolved: ResolvedPlan,
    at: datetime,
) -> RevisedRefill | None:
    """The next refill date after reprogramming to ``resolved`` (its catalog entries already
    looked up) at ``at``: from the latest refill's
    fill, each prescription for the days it ran and ``plan`` from ``at`` on (a faster rate
    empties the reservoir sooner). Drug stability still counts from the fill. None when no
    refill is recorded yet, or the latest one is after ``at``."""
    refills = repo.refills_for(patient_id)
    if not refills or refills[-1].performed_at > at:
        return None
    last = refills[-1]
    versions = list(repo.prescriptions_for(patient_id))
    history = programs_since_fill(
        versions, last.performed_at, at, library, catalog, then=(at, resolved)
    )  # fmt: skip
    fc = forecast(
        Fill(last.filled, last.performed_at), history.schedule, resolved.pump,
        resolved.alarm_threshold, resolved.program.patient_bolus, history.admixture, library,
        planned_refill=last.planned_refill, changes=history.changes,
    )  # fmt: skip
    record = replace(
        last, refill_by=fc.refill_by, decided_by=fc.decided_by,
        candidates=tuple(
            RefillCandidateRecord(c.at, c.kind.value, c.reason, c.source)
            for c in (fc.candidates if fc else ())
        ),
    )  # fmt: skip
    findings = list(fc.findings)
    if fc.refill_by != last.refill_by:
        old = f"{last.refill_by:%Y-%m-%d %H:%M}" if last.refill_by else "no date"
        new = f"{fc.refill_by:%Y-%m-%d %H:%M}" if fc.refill_by else "no date"
        now_due = fc.refill_by is not None and fc.refill_by <= at
        decided = next((c for c in fc.candidates if c.at == fc.refill_by), None)
        findings.append(Finding(
            Level.INFO, Code.REFILL_DATE_REVISED,
            f"With this program the next refill moves from {old} to {new} "
            f"({fc.decided_by})" + ("; it is due now" if now_due else "")
            + ". The refill calendar follows.",
            decided.source if decided else "the programs since the last fill (therapy core)",
        ))  # fmt: skip
    return RevisedRefill(record, fc, tuple(findings), record != last)


def _previous(old: PlanFile, new: PlanFile, earlier: Sequence[datetime]) -> PreviousEntry:
    return PreviousEntry(
        started=old.at,
        admixture=old.admixture if old.admixture != new.admixture else None,
        schedule=old.schedule,
        patient_bolus=old.patient_bolus,
        earlier_increases=list(earlier),
    )


@dataclass(frozen=True)
class ProgramPreview:
    """A program change before it is stored: the plan as it will be stored, the findings,
    the prescription it replaces and the latest refill's revised forecast."""

    plan: PlanFile
    findings: tuple[Finding, ...]
    current: PrescriptionVersion | None
    revision: RevisedRefill | None


def preview_program_change(
    repo: ClinicRepository,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    *,
    patient_id: str,
    plan: PlanFile,
    at: datetime,
    actor: User | None = None,
) -> ProgramPreview:
    """The plan as it will be stored (starting at ``at``, the current prescription as its
    ``previous``), the gate's findings and the latest refill's revised forecast, without
    writing. With ``actor``: raises :class:`PermissionDenied` first when the actor may not make
    this change (a nurse outside the current prescription: :mod:`thecal.clinic.authorization`)."""
    patient = repo.get_patient(patient_id)
    current = current_prescription(repo, patient_id)
    if actor is not None:
        check_program_change(actor, current, plan)
    update: dict[str, Any] = {"at": at, "patient": patient_spec(patient, plan)}
    if current is not None:
        update["previous"] = _previous(current.plan(), plan, ())
    update["start"] = current is None  # the first stored program starts the therapy
    new_plan = plan.model_copy(update=update)
    resolved = resolve(new_plan.to_typed(), library, catalog)
    revision = revised_refill(
        repo, library, catalog, patient_id=patient_id, resolved=resolved, at=at
    )
    program = _with_pump_state(repo, library, patient_id, new_plan, resolved, revision, at)
    findings = (
        tuple(resolved.rounding) + check(program, library).findings + _fill_findings(resolved)
    )
    if revision is not None:
        findings += revision.findings
    return ProgramPreview(new_plan, findings, current, revision)


def _fill_findings(resolved: ResolvedPlan) -> tuple[Finding, ...]:
    """A hard finding when the plan's fill (a first prescription's initial fill) is not above
    0 mL or is more than the pump's reservoir holds (a full reservoir is allowed)."""
    fill, capacity = resolved.plan.fill, resolved.pump.reservoir
    if fill is None or capacity is None:
        return ()
    volume = fill.volume.to("mL")
    empty = not above(volume, Q_(0.0, "mL"))  # NaN is not above 0: refused, never filled
    if not empty and not above(volume, capacity):
        return ()
    return (Finding(
        Level.HARD, Code.FILL_EMPTY if empty else Code.FILL_EXCEEDS_RESERVOIR,
        f"A fill of {fmt(volume)} is not possible: " + ("nothing would be filled." if empty
        else f"the reservoir of {resolved.pump.model} holds {fmt(capacity)}. Check the pump "
        "model and the volume in the syringe."),
        resolved.pump.source("reservoir"), limit=capacity, value=volume,
    ),)  # fmt: skip


def _with_pump_state(
    repo: ClinicRepository,
    library: DrugLibrary,
    patient_id: str,
    plan: PlanFile,
    resolved: ResolvedPlan,
    revision: RevisedRefill | None,
    at: datetime,
) -> ProgramProposal:
    """The program with what the gate checks it against: the implanted pump's model, what the
    reservoir holds (the last fill's drugs; none when this change comes with a fill) and when
    the reservoir is expected to have run dry (the revised forecast, at or before ``at``)."""
    device = pump_in_place(repo, patient_id)
    empty = revision.forecast.empty_nominal if revision is not None else None
    return replace(
        resolved.program,
        implanted_model=device.model if device is not None else None,
        reservoir_admixture=_reservoir_admixture(repo, library, patient_id, plan, at),
        reservoir_empty_since=empty if empty is not None and empty <= at else None,
    )


def _reservoir_admixture(
    repo: ClinicRepository, library: DrugLibrary, patient_id: str, plan: PlanFile, at: datetime
) -> Admixture | None:
    if plan.fill is not None and plan.fill.at >= at:
        return None  # filled with this change: the reservoir will hold the new drugs
    refills = repo.refills_for(patient_id)
    if refills:
        pairs = refills[-1].concentrations
    else:
        current = current_prescription(repo, patient_id)
        if current is None or current.plan().fill is None:
            return None  # nothing recorded in the reservoir
        pairs = tuple((i.drug, i.concentration) for i in current.plan().admixture)
    return make_admixture(
        [
            (library.get(d, "reservoir.drug"), parse_quantity(c, "reservoir.concentration",
                                                              Dimension.CONCENTRATION))
            for d, c in pairs
        ],
        "reservoir", library.settings.max_admixture_drugs,
    )  # fmt: skip


def change_program(
    uow: UnitOfWork,
    clock: Clock,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    *,
    actor: User,
    patient_id: str,
    plan: PlanFile,
    reason: str,
    overrides: Mapping[str, str] | None = None,
    patient_version: int | None = None,
) -> ProgramOutcome:
    """Check ``plan`` through the safety gate against the current prescription and store it
    as the next prescription version with a :class:`ProgramChange` — one transaction.
    A reason is required; soft findings each need an override reason; hard ones refuse.
    Inside the transaction: a nurse stays within the current prescription
    (:class:`~thecal.clinic.authorization.OutsidePrescription`), and only a physician gives
    the reasons a physician must (:class:`~thecal.therapy.findings.OverrideNotAllowed`)."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "change programs")
    if not reason.strip():
        raise InputError("program_change.reason", "is required", "why the program changes")
    reasons = dict(overrides or {})
    at = clock()
    with uow.transaction(actor.username, at, reason) as repo:
        if patient_version is not None:
            repo.update_patient(with_version(repo.get_patient(patient_id), patient_version))
        # The bounds and the reasons are checked on the prescription read in this transaction:
        # one changed since the form was shown is what counts.
        preview = preview_program_change(
            repo, library, catalog, patient_id=patient_id, plan=plan, at=at, actor=actor
        )
        new_plan, findings, current = preview.plan, preview.findings, preview.current
        check_reasons(repo, actor, patient_id, findings, reasons)
        version = (current.version if current else 0) + 1
        prescription = PrescriptionVersion(
            patient_id, version, new_plan.model_dump_json(exclude_none=True), actor.username,
            reason, at,
        )  # fmt: skip
        soft = {f.code.value for f in needs_reason(findings)}
        change = ProgramChange(
            patient_id, at, current.version if current else None, version, actor.username,
            reason, tuple(StoredFinding.of(f) for f in findings),
            tuple(sorted((k, r.strip()) for k, r in reasons.items() if k in soft)),
        )  # fmt: skip
        repo.add_prescription(prescription)
        repo.add_program_change(change)
        if preview.revision is not None and preview.revision.moved:
            repo.revise_refill_forecast(preview.revision.record)
    return ProgramOutcome(prescription, change, findings)
