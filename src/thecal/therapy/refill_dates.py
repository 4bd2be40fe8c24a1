"""When to refill: the earliest of the reservoir's low-reservoir alarm (worst case), each drug's
stability limit, and the institution's maximum interval — with every candidate kept for display.

The reservoir dates come from the exact inverse of the delivery integral
(:meth:`DeliveryModel.time_to_deliver`); the worst case assumes every allowed patient bolus is
taken, as the valve-gated pump's controller does for its own refill date (Prometra patient
therapy controller guide, p.5).
The pump's accuracy band is not added to the worst case: the institution's refill margin
(``settings.refill_margin``) is the place for that slack.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

import pint

from thecal.therapy.admixture import Admixture
from thecal.therapy.delivery import ReportedBolus
from thecal.therapy.drugs import Bound
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.pump import PumpSpec
from thecal.therapy.reservoir import Fill, ScheduleChange, Timeline, check_fill
from thecal.therapy.schedule import PatientBolus, Schedule
from thecal.units import Q_, Dimension, InputError, check_dimension, fmt

RESERVOIR_LABEL_WORST = "low-reservoir alarm (worst case, all patient boluses taken, minus margin)"
RESERVOIR_LABEL_PROGRAMMED = "low-reservoir alarm (programmed delivery, minus margin)"
INSTITUTION_LABEL = "institution maximum interval"

# How a limit's conditions read in a label: "ziconotide first fill, 14 d".
_WHEN_WORDS = {("fill", "first"): "first fill", ("fill", "refill"): "refill"}


class CandidateKind(StrEnum):
    RESERVOIR = "reservoir"
    STABILITY = "stability"
    INSTITUTION = "institution"


@dataclass(frozen=True)
class RefillCandidate:
    """One date the refill must not be later than. ``level`` is the level of the finding a
    later planned refill gets; ``interval`` the time from the fill to ``at`` (d)."""

    at: datetime
    kind: CandidateKind
    reason: str
    source: str
    level: Level
    interval: pint.Quantity
    drug: str | None = None


@dataclass(frozen=True)
class RefillForecast:
    """Reservoir dates (None: not reached within the model's ten-year horizon), the refill-by
    date (the earliest candidate; None only when there is no candidate at all) and what decided
    it. ``candidates`` are sorted by date; ``findings`` are those for ``planned_refill`` when one
    was given to :func:`forecast`."""

    fill: Fill
    alarm_threshold: pint.Quantity
    alarm_source: str
    margin: pint.Quantity
    low_alarm_nominal: datetime | None
    low_alarm_worst: datetime | None
    empty_nominal: datetime | None
    empty_worst: datetime | None
    refill_by: datetime | None
    decided_by: str
    candidates: tuple[RefillCandidate, ...]
    withdrawal_drugs: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()


def _days(q: pint.Quantity) -> timedelta:
    return timedelta(days=float(q.to("d").magnitude))


def _interval(start: datetime, end: datetime) -> pint.Quantity:
    return Q_((end - start).total_seconds() / 86400.0, "d")


def _when_label(when: tuple[tuple[str, str], ...]) -> str:
    return " ".join(_WHEN_WORDS.get(pair, pair[1]) for pair in when)


def forecast(
    fill: Fill,
    schedule: Schedule,
    pump: PumpSpec,
    alarm_threshold: pint.Quantity | None,
    patient: PatientBolus | None,
    admixture: Admixture,
    library: DrugLibrary,
    reported: Sequence[ReportedBolus] = (),
    margin: pint.Quantity | None = None,
    planned_refill: datetime | None = None,
    *,
    reservoir_override: pint.Quantity | None = None,
    changes: Sequence[ScheduleChange] = (),
) -> RefillForecast:
    """Refill forecast for ``fill`` (mL) under ``schedule``.

    ``alarm_threshold`` (mL): the low-reservoir alarm volume; else the pump's catalog value;
    else :class:`InputError` on ``refill.alarm_threshold`` (the value is not public for every
    pump, so it is a required input). ``margin`` (time): the argument, else
    ``library.settings.refill_margin``, else 0 d; it is subtracted from the worst-case alarm only
    (stability and institution limits are already the latest allowed dates). Stability limits:
    each drug's ``refill_interval_max`` limits whose conditions match ``fill`` (first|refill) and
    the ingredient's dilution, counted from ``fill.at``. ``reservoir_override``: the reservoir
    volume when the catalog has none (external pumps). ``changes``: reprogrammings after the
    fill, in time order, the last one running on (a titration between refills moves the
    reservoir dates; stability still counts from the fill). The fill is checked with
    :func:`check_fill`."""
    check_fill(fill.volume, pump, reservoir_override)
    threshold = pump.require("low_reservoir_alarm", alarm_threshold, "refill.alarm_threshold")
    check_dimension(threshold, "refill.alarm_threshold", Dimension.VOLUME)
    if threshold.magnitude < 0:
        raise InputError(
            "refill.alarm_threshold", "must not be negative", "a volume such as '2 mL'"
        )
    alarm_source = (
        "entered by the clinician"
        if alarm_threshold is not None
        else pump.source("low_reservoir_alarm")
    )
    settings = library.settings
    chosen_margin = margin if margin is not None else settings.refill_margin
    if chosen_margin is None:
        chosen_margin = Q_(0.0, "d")
    check_dimension(chosen_margin, "refill.margin", Dimension.TIME)
    if chosen_margin.magnitude < 0:
        raise InputError("refill.margin", "must not be negative", "a duration such as '3 d'")

    timeline = Timeline(fill, schedule, changes)
    to_alarm = fill.volume.to("mL") - threshold.to("mL")
    low_nominal = timeline.time_to_deliver(to_alarm, reported=reported)
    empty_nominal = timeline.time_to_deliver(fill.volume, reported=reported)
    if patient is None:
        low_worst, empty_worst = low_nominal, empty_nominal
    else:
        low_worst = timeline.time_to_deliver(to_alarm, patient, reported)
        empty_worst = timeline.time_to_deliver(fill.volume, patient, reported)

    candidates: list[RefillCandidate] = []
    if low_worst is not None:
        # Never earlier than the fill itself: a margin that long means "refill now".
        at = max(fill.at, low_worst - _days(chosen_margin))
        candidates.append(RefillCandidate(
            at, CandidateKind.RESERVOIR,
            RESERVOIR_LABEL_WORST if patient is not None else RESERVOIR_LABEL_PROGRAMMED,
            alarm_source, Level.SOFT, _interval(fill.at, at),
        ))  # fmt: skip
    context_fill = "first" if fill.first_fill else "refill"
    for ingredient in admixture.ingredients:
        context = {"fill": context_fill, "dilution": ingredient.dilution}
        for limit in ingredient.drug.limits_for(Bound.REFILL_INTERVAL_MAX, context):
            days = float(limit.value.to("d").magnitude)
            label = f"drug stability: {ingredient.drug.name}"
            if limit.when:
                label += f" {_when_label(limit.when)}"
            candidates.append(RefillCandidate(
                fill.at + _days(limit.value), CandidateKind.STABILITY, f"{label}, {days:g} d",
                limit.source, limit.level, limit.value.to("d"), ingredient.drug.name,
            ))  # fmt: skip
    if settings.max_refill_interval is not None:
        candidates.append(RefillCandidate(
            fill.at + _days(settings.max_refill_interval), CandidateKind.INSTITUTION,
            f"{INSTITUTION_LABEL}, {fmt(settings.max_refill_interval.to('d'))}",
            settings.max_refill_interval_source, Level.SOFT, settings.max_refill_interval.to("d"),
        ))  # fmt: skip
    # Stable sort: on a tie the reservoir comes first, then stability, then the institution.
    candidates.sort(key=lambda c: c.at)
    first = candidates[0] if candidates else None
    result = RefillForecast(
        fill=fill,
        alarm_threshold=threshold.to("mL"),
        alarm_source=alarm_source,
        margin=chosen_margin.to("d"),
        low_alarm_nominal=low_nominal,
        low_alarm_worst=low_worst,
        empty_nominal=empty_nominal,
        empty_worst=empty_worst,
        refill_by=first.at if first else None,
        decided_by=first.reason if first else "no limit: nothing is delivered and no drug limits",
        candidates=tuple(candidates),
        withdrawal_drugs=tuple(
            i.drug.name
            for i in admixture.ingredients
            if i.drug.withdrawal_warning or i.drug.is_opioid
        ),
    )
    if planned_refill is None:
        return result
    return replace(result, findings=stability_findings(result, planned_refill))


def _when(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M}"


def stability_findings(forecast: RefillForecast, planned_refill: datetime) -> tuple[Finding, ...]:
    """Findings for a refill planned at ``planned_refill``: one for every candidate date it is
    later than. Stability limits → ``REFILL_INTERVAL_BEYOND_STABILITY`` at the limit's level;
    the worst-case low-reservoir alarm (minus margin) → ``RESERVOIR_RUNS_OUT_BEFORE_REFILL``
    (soft); the institution maximum → ``REFILL_INTERVAL_ABOVE_INSTITUTION_MAX`` (soft).
    Limit and value are intervals from the fill (d)."""
    fill_at = forecast.fill.at
    if planned_refill < fill_at:
        raise InputError("refill.planned", "is before the fill", "a date after the fill")
    planned_interval = _interval(fill_at, planned_refill)
    out: list[Finding] = []
    for c in forecast.candidates:
        if planned_refill <= c.at:
            continue
        if c.kind is CandidateKind.RESERVOIR:
            out.append(Finding(
                c.level, Code.RESERVOIR_RUNS_OUT_BEFORE_REFILL,
                _reservoir_message(forecast, planned_refill, c), c.source,
                limit=c.interval, value=planned_interval,
            ))  # fmt: skip
        elif c.kind is CandidateKind.STABILITY:
            out.append(Finding(
                c.level, Code.REFILL_INTERVAL_BEYOND_STABILITY,
                f"The refill planned for {_when(planned_refill)} is {fmt(planned_interval)} after "
                f"the fill; {c.reason} allows at most {fmt(c.interval)} "
                f"(refill by {_when(c.at)}). Plan the refill earlier.",
                c.source, c.drug, c.interval, planned_interval,
            ))  # fmt: skip
        else:
            out.append(Finding(
                c.level, Code.REFILL_INTERVAL_ABOVE_INSTITUTION_MAX,
                f"The refill planned for {_when(planned_refill)} is {fmt(planned_interval)} after "
                f"the fill, beyond the institution maximum of {fmt(c.interval)} "
                f"(refill by {_when(c.at)}).",
                c.source, limit=c.interval, value=planned_interval,
            ))  # fmt: skip
    return tuple(out)


def _reservoir_message(f: RefillForecast, planned: datetime, c: RefillCandidate) -> str:
    case = "if every allowed patient bolus is taken" if c.reason == RESERVOIR_LABEL_WORST else (
        "at the programmed rates"
    )  # fmt: skip
    alarm = f.low_alarm_worst
    text = (
        f"The low-reservoir alarm ({fmt(f.alarm_threshold)}) is expected "
        f"{_when(alarm) if alarm else 'never'} {case}"
    )
    if f.empty_worst is not None and f.empty_worst < planned:
        text += (
            f", and the reservoir runs empty at {_when(f.empty_worst)} — before the planned "
            f"refill on {_when(planned)}. An empty pump stops delivery abruptly"
        )
        if f.withdrawal_drugs:
            text += f" (withdrawal risk: {', '.join(f.withdrawal_drugs)})"
    else:
        text += f"; the refill is planned for {_when(planned)}"
    if f.margin.magnitude > 0:
        text += f". With the {fmt(f.margin)} refill margin"
    text += f". Refill by {_when(c.at)}."
    return text
