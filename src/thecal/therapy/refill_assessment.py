"""The one refill assessment: every number and finding of a refill, computed in one place.

:func:`assess_refill` takes a :class:`~thecal.therapy.proposal.RefillProposal` and returns the
expected residual (with what it was computed from), the discrepancy between it and the volume
withdrawn, the forecast for the new fill (low-reservoir alarm, empty, refill-by and what decided
it) and all findings, hard first. The safety gate's refill path, the ``thecal refill`` command,
the clinic's refill workflow, the clinician programmer and the scenario runner all call it and
only render its result, so a refill cannot be judged two ways.

Physical impossibility is hard, with the physical fact as its source:

- a withdrawn residual above the reservoir's capacity plus the library's measuring tolerance
  (``settings.withdrawn_tolerance``; capacity + tolerance itself is allowed);
- a fill that is empty or above the capacity (the capacity itself is allowed);
- a low-reservoir alarm threshold at or above the capacity (it would sound at every fill:
  equal to the capacity is refused) or at or below 0 mL (it would never sound before the pump
  stops).
"""

from dataclasses import dataclass
from datetime import datetime

import pint

from thecal.therapy import refill_discrepancy
from thecal.therapy.compare import above, at_or_above
from thecal.therapy.delivery import daily_dose
from thecal.therapy.drug_change import drug_change_at_refill
from thecal.therapy.drugs import Bound
from thecal.therapy.findings import Code, Finding, Level, Verdict, deduplicated, ordered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.overrides import classify
from thecal.therapy.proposal import Interruption, RefillProposal
from thecal.therapy.pump import PumpSpec
from thecal.therapy.refill_dates import RefillForecast, forecast
from thecal.therapy.refill_discrepancy import RefillCheck
from thecal.therapy.reservoir import Fill, expected_volume, reservoir_capacity
from thecal.therapy.restart import restart_findings_for
from thecal.units import Q_, Dimension, InputError, check_dimension, fmt

# Discrepancy findings say nothing when the withdrawn volume itself cannot be right.
_DISCREPANCY_CODES = (Code.DISCREPANCY_ABOVE_THRESHOLD, Code.DISCREPANCY_OUTSIDE_ACCURACY)
_ALARM_SOURCE = (
    "Withdrawal seen at a mean 2.7 mL residual with a 2 mL low-reservoir alarm "
    "(Neurosurgery 2004;55:390, https://pubmed.ncbi.nlm.nih.gov/15271246)"
)


@dataclass(frozen=True)
class ExpectedResidual:
    """What the reservoir should hold at the refill, and what that was computed from.

    ``volume``: expected residual (mL); ``delivered``: what left the reservoir since
    ``last_fill`` (mL); ``programmed``: what the schedule asked for (mL, not clamped; None when
    the implant's estimate was used); ``ran_empty_at``: when the reservoir reached 0 (None: it
    did not); ``basis``: the computation in words, for the screen and the record."""

    last_fill: Fill
    volume: pint.Quantity
    delivered: pint.Quantity
    programmed: pint.Quantity | None
    ran_empty_at: datetime | None
    basis: str
    from_device: bool = False


@dataclass(frozen=True)
class RefillAssessment(Verdict):
    """Everything a refill screen shows. ``expected`` is None without a last fill;
    ``discrepancy`` is None without a last fill and a withdrawn volume; ``forecast`` is None when
    the fill or the alarm threshold is physically impossible (a hard finding says which).
    ``capacity``: the reservoir's capacity (mL); ``findings`` hard → soft → info."""

    proposal: RefillProposal
    capacity: pint.Quantity
    expected: ExpectedResidual | None
    discrepancy: RefillCheck | None
    forecast: RefillForecast | None
    findings: tuple[Finding, ...]


def assess_refill(proposal: RefillProposal, library: DrugLibrary) -> RefillAssessment:
    """Assess ``proposal``: expected residual, discrepancy, forecast and every finding.

    Volumes are mL, times naive device time. Raises :class:`InputError` for a value of the
    wrong dimension, a negative volume, a required input that is missing (the reservoir of an
    external pump, an alarm threshold the catalog lacks) — never for a value that is merely
    impossible: that is a hard finding naming the physical fact."""
    p = proposal
    pump = p.program.pump
    capacity = reservoir_capacity(pump)  # unknown (external bag not entered) → InputError
    out: list[Finding] = list(_program_findings(p, library))
    out += drug_change_at_refill(p.program)  # old drug still in tubing and catheter
    expected = _expected(p)
    if expected is not None:
        out += _ran_empty(p, expected.ran_empty_at, library)
    impossible: list[Finding] = []
    if p.withdrawn is not None:
        check_dimension(p.withdrawn, "refill.withdrawn", Dimension.VOLUME)
        impossible = _withdrawn_findings(p.withdrawn, capacity, pump, library)
        out += impossible
    check: RefillCheck | None = None
    if expected is not None and p.withdrawn is not None:
        check = refill_discrepancy.assess_refill(
            expected.volume, p.withdrawn, expected.delivered, pump, library.settings,
            filled=p.filled, confirmed_after_fill=p.confirmed_after_fill,
        )  # fmt: skip
        out += [f for f in check.findings if not (impossible and f.code in _DISCREPANCY_CODES)]
    fill_stop = _fill_findings(p.fill, capacity, pump)
    alarm_stop = _alarm_findings(p.alarm_threshold, capacity, pump)
    out += fill_stop + alarm_stop
    fc: RefillForecast | None = None
    if not fill_stop and not alarm_stop:
        out += _first_fill(p)
        fc = forecast(
            p.fill, p.program.schedule, pump, p.alarm_threshold, p.program.patient_bolus,
            p.program.admixture, library, planned_refill=p.planned_refill,
        )  # fmt: skip
        out += fc.findings
    # Each soft finding says who may give its reason (a physician for opioid doses, restarts).
    found = classify(ordered(deduplicated(out)), p.program.admixture)
    return RefillAssessment(p, capacity, expected, check, fc, found)


# --- the parts -------------------------------------------------------------------------------


def _program_findings(p: RefillProposal, library: DrugLibrary) -> tuple[Finding, ...]:
    # Imported here: the gate imports this module for its refill path, and the new fill's
    # program is judged exactly as any program is, by the gate.
    from thecal.therapy.safety_gate import check

    return check(p.program, library).findings


def _when(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M}"


def _expected(p: RefillProposal) -> ExpectedResidual | None:
    last = p.last_fill
    if last is None:
        return None
    at = p.fill.at
    since = f"since the last fill of {fmt(last.volume)} at {_when(last.at)}"
    if p.device_estimate is not None:
        check_dimension(p.device_estimate, "refill.device_estimate", Dimension.VOLUME)
        estimate = p.device_estimate.to("mL")
        if not estimate.magnitude >= 0:  # negative or NaN: the implant's number is unusable
            raise InputError(
                "refill.device_estimate", f"{fmt(estimate)} is not a residual", "a volume >= 0 mL"
            )
        # The implant's own count includes every bolus it gave; clamp a rounding residue.
        delivered = Q_(max(0.0, float((last.volume.to("mL") - estimate).magnitude)), "mL")
        empty = p.device_empty_at
        ran_empty = empty if empty is not None and last.at <= empty <= at else None
        return ExpectedResidual(
            last, estimate, delivered, None, ran_empty,
            f"the implant's own reservoir estimate {since}", from_device=True,
        )  # fmt: skip
    ev = expected_volume(last, p.schedule_since_last_fill, at, p.reported, p.since_changes)
    basis = f"the programmed schedule {since}, integrated exactly"
    if p.since_changes:
        n = len(p.since_changes)
        basis += f", with {n} program change{'s' if n > 1 else ''}"
    counted = [r for r in p.reported if last.at <= r.at < at]
    if counted:
        total = sum(float(r.volume.to("mL").magnitude) for r in counted)
        basis += (
            f", plus {len(counted)} patient bolus{'es' if len(counted) > 1 else ''} the pump "
            f"reported ({fmt(Q_(total, 'mL'))})"
        )
    return ExpectedResidual(last, ev.volume, ev.delivered, ev.programmed, ev.ran_empty_at, basis)


def _ran_empty(p: RefillProposal, empty_at: datetime | None, library: DrugLibrary) -> list[Finding]:
    """A reservoir expected to have run dry before this refill is an interruption: restarting
    the old opioid dose may meet a patient who lost tolerance (Ruan et al., Pain Physician 2010)."""
    prog = p.program
    if empty_at is None or prog.interruption is not None or empty_at >= p.fill.at:
        return []
    gap = Interruption(empty_at, p.fill.at, "reservoir expected to have run empty before refill")
    old_admixture = prog.previous.admixture if prog.previous else prog.admixture
    old = daily_dose(p.schedule_before_refill(empty_at), old_admixture).nominal
    new = daily_dose(prog.schedule, prog.admixture).nominal
    return restart_findings_for(prog.admixture, old, new, gap, library.settings)


def _withdrawn_findings(
    withdrawn: pint.Quantity, capacity: pint.Quantity, pump: PumpSpec, library: DrugLibrary
) -> list[Finding]:
    """More withdrawn than the reservoir holds (plus the measuring tolerance) is a misread
    syringe or a typing slip (25 mL, 15 L): the discrepancy built on it would be fiction."""
    settings = library.settings
    tolerance = settings.withdrawn_tolerance or Q_(0.0, "mL")
    limit = (capacity + tolerance.to("mL")).to("mL")
    if not above(withdrawn, limit):
        return []
    source = pump.source("reservoir") + (
        f"; tolerance {fmt(tolerance)}: {settings.withdrawn_tolerance_source}"
        if settings.withdrawn_tolerance is not None
        else "; no measuring tolerance is set in the drug library"
    )
    return [Finding(
        Level.HARD, Code.WITHDRAWN_EXCEEDS_RESERVOIR,
        f"{fmt(withdrawn)} withdrawn is not possible: the reservoir of {pump.model} holds "
        f"{fmt(capacity)} (at most {fmt(limit)} with the measuring tolerance). Check the "
        "syringe reading and the volume and unit typed, then enter the residual again.",
        source, limit=limit, value=withdrawn,
    )]  # fmt: skip


def _fill_findings(fill: Fill, capacity: pint.Quantity, pump: PumpSpec) -> list[Finding]:
    empty = not fill.volume.magnitude > 0  # NaN is not > 0: refused, never filled
    if not empty and not above(fill.volume, capacity):
        return []
    return [Finding(
        Level.HARD, Code.FILL_EMPTY if empty else Code.FILL_EXCEEDS_RESERVOIR,
        f"A fill of {fmt(fill.volume)} is not possible: "
        + ("nothing would be filled." if empty else (
            f"the reservoir of {pump.model} holds {fmt(capacity)}. Check the pump model and "
            "the volume in the syringe."
        )),
        pump.source("reservoir"), limit=capacity, value=fill.volume,
    )]  # fmt: skip


def _alarm_findings(
    entered: pint.Quantity | None, capacity: pint.Quantity, pump: PumpSpec
) -> list[Finding]:
    """The low-reservoir alarm must sound between full and empty: at or above the capacity it
    sounds at every fill (and is learnt to be ignored), at or below 0 mL only when the pump has
    already stopped — an abrupt end of delivery, with withdrawal (withdrawal was seen at a mean
    2.7 mL residual: Neurosurgery 2004;55:390)."""
    threshold = entered if entered is not None else pump.low_reservoir_alarm
    if threshold is None:
        return []  # a required input: the forecast says so on refill.alarm_threshold
    check_dimension(threshold, "refill.alarm_threshold", Dimension.VOLUME)
    where = "entered" if entered is not None else "from the catalog"
    zero = Q_(0.0, "mL")
    if at_or_above(zero, threshold):  # the threshold is at or below 0 mL (NaN too)
        return [Finding(
            Level.HARD, Code.ALARM_THRESHOLD_NOT_POSITIVE,
            f"A low-reservoir alarm at {fmt(threshold)} ({where}) would never sound before the "
            "pump runs empty, and an empty pump stops delivery abruptly (withdrawal). Set an "
            "alarm volume above 0 mL, such as the manufacturer's recommendation.",
            "Physical fact: the reservoir cannot hold less than 0 mL. "
            + (pump.source("low_reservoir_alarm") or _ALARM_SOURCE),
            limit=zero, value=threshold,
        )]  # fmt: skip
    if at_or_above(threshold, capacity):
        return [Finding(
            Level.HARD, Code.ALARM_THRESHOLD_AT_OR_ABOVE_CAPACITY,
            f"A low-reservoir alarm at {fmt(threshold)} ({where}) is not possible: the "
            f"reservoir of {pump.model} holds {fmt(capacity)}, so the alarm would sound at every "
            "fill. Check the alarm volume and its unit.",
            "Physical fact: the alarm must be below the reservoir's capacity. "
            + pump.source("reservoir"),
            limit=capacity, value=threshold,
        )]  # fmt: skip
    return []


def _first_fill(p: RefillProposal) -> list[Finding]:
    if not p.fill.first_fill:
        return []
    return [
        Finding(
            Level.INFO,
            Code.FIRST_FILL_RINSE,
            f"First fill of a new pump with {ing.drug.name}: follow the labelled rinse "
            f"procedure, and replace this fill within {fmt(lim.value)}.",
            lim.source,
            ing.drug.name,
            lim.value,
        )
        for ing in p.program.admixture.ingredients
        for lim in ing.drug.limits_for(Bound.REFILL_INTERVAL_MAX, {"fill": "first"})
    ]
