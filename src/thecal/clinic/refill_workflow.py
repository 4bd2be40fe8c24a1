"""The refill workflow: the nurse's entry turned into the refill the therapy core assesses
(the last fill, each prescription version since, the fill now), the stored record with its
numbers and forecast, and the transaction that refuses hard findings and requires a reason
for every soft one.

``preview_refill`` computes everything without writing (the confirmation screen);
``record_refill`` runs the same computation inside the transaction and stores it.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

import pint

from thecal.clinic.authorization import check_reasons
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import RefillCandidateRecord, RefillRecord, StoredFinding, User
from thecal.clinic.patient_context import (
    current_prescription,
    patient_spec,
    pump_in_place,
    with_version,
)
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.program_history import ProgramPeriod, programs_since_fill
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.delivery import ReportedBolus
from thecal.therapy.findings import Finding, Verdict, needs_reason
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import resolve
from thecal.therapy.plan_file import PlanFile
from thecal.therapy.plan_model import (
    FillSettings,
    RefillSettings,
    ReportedBolusSettings,
    quantity,
)
from thecal.therapy.refill_assessment import RefillAssessment, assess_refill
from thecal.therapy.refill_dates import RefillForecast
from thecal.therapy.refill_discrepancy import RefillCheck
from thecal.units import Dimension, InputError


def _ml(q: pint.Quantity, field_name: str) -> pint.Quantity:
    """A volume the nurse entered, checked (naming the field) and in mL, as stored."""
    return quantity(q, field_name, Dimension.VOLUME).to("mL")


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


def preview_refill(
    repo: ClinicRepository,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    *,
    patient_id: str,
    entry: RefillInput,
    at: datetime,
    by: str,
    program: PlanFile | None = None,
) -> RefillOutcome:
    """Every number and finding of a refill at ``at`` without writing anything.

    ``program``: the plan that runs from this fill when the refill changes the concentration
    (:mod:`thecal.clinic.refill_program`); its admixture is the fill's. Default: the current
    prescription.

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
    plan = program if program is not None else prescription.plan()
    typed = plan.to_typed()
    refills = repo.refills_for(patient_id)
    last_fill: FillSettings
    if refills:
        last = refills[-1]
        last_fill = FillSettings(volume=_ml(last.filled, "refill.filled"), at=last.performed_at,
                                 where="refill.last_fill")  # fmt: skip
    elif typed.fill is not None:
        last_fill = replace(typed.fill, where="refill.last_fill")
    else:
        raise InputError(
            "refill.last_fill", "no earlier fill is recorded for this patient",
            "a prescription with [fill] or an earlier refill",
        )  # fmt: skip
    if at < last_fill.at:
        raise InputError("refill.at", f"{at:%Y-%m-%d %H:%M} is before the last fill")
    filled = _ml(entry.filled, "refill.filled")
    confirmed = entry.confirmed_after_fill
    now_plan = replace(
        typed,
        at=at,
        patient=patient_spec(patient, plan).to_typed(),
        fill=FillSettings(volume=filled, at=at),
        next_refill=entry.planned_refill,
        start=False,  # a maintenance refill of the stored prescription is not a start
        previous=None,
        interruption=None,
        priming=None,
        refill=RefillSettings(
            last_fill=last_fill,
            withdrawn=_ml(entry.withdrawn, "refill.withdrawn"),
            filled=filled,
            confirmed_after_fill=(
                _ml(confirmed, "refill.confirmed_after_fill") if confirmed is not None else None
            ),
            reported_boluses=tuple(
                ReportedBolusSettings(at=r.at, volume=_ml(r.volume, "refill.reported"))
                for r in entry.reported
            ),
        ),
    )  # fmt: skip
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
    catalog: DeviceCatalog,
    *,
    actor: User,
    patient_id: str,
    entry: RefillInput,
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
            repo.update_patient(with_version(repo.get_patient(patient_id), patient_version))
        outcome = preview_refill(
            repo, library, catalog, patient_id=patient_id, entry=entry, at=at, by=actor.username
        )
        check_reasons(repo, actor, patient_id, outcome.findings, entry.overrides)
        repo.add_refill(outcome.record)
    return outcome
