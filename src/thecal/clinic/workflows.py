"""The refill and program-change workflows: run the therapy core's checks on what the nurse or
physician entered, refuse hard findings, require a reason for every soft one, and store the
result — each workflow one transaction.

``preview_*`` computes everything without writing (the old-vs-new confirmation screen);
``record_*`` runs the same computation inside the transaction and stores it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pint

from thecal.clinic.authorization import check_program_change, check_reasons
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import (
    Device,
    DeviceKind,
    Patient,
    PrescriptionVersion,
    ProgramChange,
    RefillCandidateRecord,
    RefillRecord,
    StoredFinding,
    User,
)
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.program_history import ProgramPeriod, programs_since_fill
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.delivery import ReportedBolus
from thecal.therapy.findings import Code, Finding, Level, Verdict, needs_reason
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import (
    FillEntry,
    PatientSpec,
    PlanFile,
    PreviousEntry,
    RefillEntry,
    ReportedBolusEntry,
    ResolvedPlan,
    resolve,
)
from thecal.therapy.proposal import ProgramProposal
from thecal.therapy.refill_assessment import RefillAssessment, assess_refill
from thecal.therapy.refill_dates import RefillForecast, forecast
from thecal.therapy.refill_discrepancy import RefillCheck
from thecal.therapy.reservoir import Fill
from thecal.therapy.safety_gate import check
from thecal.units import Dimension, InputError, check_dimension, parse_quantity


def _text(q: pint.Quantity, unit: str, field_name: str, dim: Dimension) -> str:
    """A quantity as plan-file text, exactly (repr keeps every digit)."""
    check_dimension(q, field_name, dim)
    text = f"{float(q.to(unit).magnitude)!r} {unit}"
    parse_quantity(text, field_name, dim)  # the plan model re-reads it: refuse here, by name
    return text


@dataclass(frozen=True)
class RefillInput:
    """What the nurse enters (volumes in mL): withdrawn from the reservoir, filled into it,
    optionally confirmed afterwards; the drug lot; the next appointment; patient boluses the
    device reported since the last fill; and a reason per soft finding code."""

    withdrawn: pint.Quantity
    filled: pint.Quantity
    drug_lot: str
    confirmed_after_fill: pint.Quantity | None = None
    planned_refill: datetime | None = None
    reported: tuple[ReportedBolus, ...] = ()
    overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefillOutcome(Verdict):
    """``periods``: which prescription version ran when since the last fill (the expected
    residual integrates each at its own rate)."""

    record: RefillRecord
    check: RefillCheck
    forecast: RefillForecast | None
    findings: tuple[Finding, ...]
    periods: tuple[ProgramPeriod, ...] = ()
    assessment: RefillAssessment | None = None


def current_prescription(repo: ClinicRepository, patient_id: str) -> PrescriptionVersion | None:
    versions = repo.prescriptions_for(patient_id)
    return versions[-1] if versions else None


def pump_in_place(repo: ClinicRepository, patient_id: str) -> Device | None:
    for d in repo.devices_for(patient_id):
        if d.kind in (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP) and d.in_place:
            return d
    return None


def _patient_spec(patient: Patient, plan: PlanFile) -> PatientSpec:
    # The registry is the record of the patient; the plan's values fill what it lacks.
    return PatientSpec(
        opioid_naive=(
            patient.opioid_naive if patient.opioid_naive is not None else plan.patient.opioid_naive
        ),
        spasticity_origin=patient.spasticity_origin or plan.patient.spasticity_origin,
    )


def preview_refill(
    repo: ClinicRepository,
    library: DrugLibrary,
    catalog: Any,
    patient_id: str,
    entry: RefillInput,
    at: datetime,
    by: str,
) -> RefillOutcome:
    """Every number and finding of a refill at ``at`` without writing anything.

    The last fill is the patient's last recorded refill (else the prescription's ``fill``);
    since then each prescription version ran from when it was written until the next
    (:func:`programs_since_fill`), and the current one runs after the refill. ``catalog`` is
    the device catalog.
    Raises :class:`InputError` when the patient has no prescription, no pump in place or no
    known last fill."""
    patient = repo.get_patient(patient_id)
    prescription = current_prescription(repo, patient_id)
    if prescription is None:
        raise InputError("prescription", "the patient has no prescription", "a prescription")
    device = pump_in_place(repo, patient_id)
    if device is None:
        raise InputError("device", "the patient has no drug pump in place", "an implanted pump")
    plan = prescription.plan()
    refills = repo.refills_for(patient_id)
    if refills:
        last = refills[-1]
        last_fill = FillEntry(volume=_text(last.filled, "mL", "refill.filled", Dimension.VOLUME),
                              at=last.performed_at)  # fmt: skip
    elif plan.fill is not None:
        last_fill = plan.fill
    else:
        raise InputError(
            "refill.last_fill", "no earlier fill is recorded for this patient",
            "a prescription with [fill] or an earlier refill",
        )  # fmt: skip
    if at < last_fill.at:
        raise InputError("refill.at", f"{at:%Y-%m-%d %H:%M} is before the last fill")
    v = Dimension.VOLUME
    now_plan = plan.model_copy(update={
        "at": at,
        "patient": _patient_spec(patient, plan),
        "fill": FillEntry(volume=_text(entry.filled, "mL", "refill.filled", v), at=at),
        "next_refill": entry.planned_refill,
        "start": False,  # a maintenance refill of the stored prescription is not a start
        "previous": None,
        "interruption": None,
        "priming": None,
        "refill": RefillEntry(
            last_fill=last_fill,
            withdrawn=_text(entry.withdrawn, "mL", "refill.withdrawn", v),
            filled=_text(entry.filled, "mL", "refill.filled", v),
            confirmed_after_fill=(
                _text(entry.confirmed_after_fill, "mL", "refill.confirmed_after_fill", v)
                if entry.confirmed_after_fill is not None else None
            ),
            reported_boluses=[
                ReportedBolusEntry(at=r.at, volume=_text(r.volume, "mL", "refill.reported", v))
                for r in entry.reported
            ],
        ),
    })  # fmt: skip
    resolved = resolve(now_plan, library, catalog)
    history = programs_since_fill(
        repo.prescriptions_for(patient_id), last_fill.at, at, library, catalog
    )
    stated = resolved.refill_proposal
    assert stated is not None  # fill and refill were set
    proposal = replace(stated, since_schedule=history.schedule, since_changes=history.changes)
    # The one refill assessment: this workflow only stores and shows its numbers.
    assessment = assess_refill(proposal, library)
    findings = assessment.findings
    expected, numbers, fc = assessment.expected, assessment.discrepancy, assessment.forecast
    assert expected is not None and numbers is not None  # last fill and withdrawn were set
    soft = {f.code.value for f in needs_reason(findings)}
    record = RefillRecord(
        patient_id=patient_id,
        device_id=device.id,
        prescription_version=prescription.version,
        performed_at=at,
        expected_remaining=expected.volume,
        withdrawn=entry.withdrawn.to("mL"),
        discrepancy=numbers.discrepancy,
        filled=entry.filled.to("mL"),
        drug_lot=entry.drug_lot,
        concentrations=tuple((i.drug, i.concentration) for i in plan.admixture),
        by=by,
        refill_by=fc.refill_by if fc else None,
        decided_by=fc.decided_by if fc else "no forecast: the fill or the alarm is not possible",
        confirmed_after_fill=(
            entry.confirmed_after_fill.to("mL") if entry.confirmed_after_fill is not None else None
        ),
        planned_refill=entry.planned_refill,
        candidates=tuple(
            RefillCandidateRecord(c.at, c.kind.value, c.reason, c.source)
            for c in (fc.candidates if fc else ())
        ),
        findings=tuple(StoredFinding.of(f) for f in findings),
        overrides=tuple(sorted((k, r.strip()) for k, r in entry.overrides.items() if k in soft)),
    )
    return RefillOutcome(record, numbers, fc, findings, history.periods, assessment)


def record_refill(
    uow: UnitOfWork,
    clock: Clock,
    library: DrugLibrary,
    catalog: Any,
    actor: User,
    patient_id: str,
    entry: RefillInput,
    *,
    patient_version: int | None = None,
) -> RefillOutcome:
    """Check and store a refill done now (``clock()``). Raises
    :class:`~thecal.therapy.findings.OverrideError` on a hard finding or a soft one without a
    reason (nothing is written) — :class:`~thecal.therapy.findings.OverrideNotAllowed` when
    only a physician may give a reason it needs — :class:`PermissionDenied` for a viewer. With
    ``patient_version`` (the version the form was built from) a concurrent edit of the patient
    is detected (:class:`ConcurrentEditError`)."""
    if not actor.can_write:
        raise PermissionDenied(actor.username, actor.role.value, "record refills")
    at = clock()
    with uow.transaction(actor.username, at, "refill") as repo:
        if patient_version is not None:
            # First: a form built on a stale patient is rejected before anything else.
            repo.update_patient(_with_version(repo.get_patient(patient_id), patient_version))
        outcome = preview_refill(repo, library, catalog, patient_id, entry, at, actor.username)
        check_reasons(repo, actor, patient_id, outcome.findings, entry.overrides)
        repo.add_refill(outcome.record)
    return outcome


def _with_version(patient: Patient, version: int) -> Patient:
    return replace(patient, version=version)


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
    catalog: Any,
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
    catalog: Any,
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
    update: dict[str, Any] = {"at": at, "patient": _patient_spec(patient, plan)}
    if current is not None:
        update["previous"] = _previous(current.plan(), plan, ())
    update["start"] = current is None  # the first stored program starts the therapy
    new_plan = plan.model_copy(update=update)
    resolved = resolve(new_plan, library, catalog)
    revision = revised_refill(repo, library, catalog, patient_id, resolved, at)
    program = _with_pump_state(repo, library, patient_id, new_plan, resolved, revision, at)
    findings = tuple(resolved.rounding) + check(program, library).findings
    if revision is not None:
        findings += revision.findings
    return ProgramPreview(new_plan, findings, current, revision)


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
    catalog: Any,
    actor: User,
    patient_id: str,
    plan: PlanFile,
    reason: str,
    overrides: Mapping[str, str] | None = None,
    *,
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
            repo.update_patient(_with_version(repo.get_patient(patient_id), patient_version))
        # The bounds and the reasons are checked on the prescription read in this transaction:
        # one changed since the form was shown is what counts.
        preview = preview_program_change(repo, library, catalog, patient_id, plan, at, actor)
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
