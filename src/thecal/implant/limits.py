"""The firmware's own hard limits (defence in depth) and the 24-hour arithmetic behind them.

At provisioning the drug library's HARD daily-dose and bolus-dose limits are copied into the
firmware (:func:`hard_limits_from_library`). The firmware then refuses, whatever a programmer
sends, any program or bolus that could make the drug delivered in ANY 24 h window exceed the
hard daily limit. The bounds used are upper bounds, so the check is sufficient:

* basal: the exact maximum of ``B(x + 24 h) - B(x)`` over the weekly flex program — it is
  piecewise linear in ``x``, so its maximum sits where ``x`` or ``x + 24 h`` is a step start
  (this also catches a high evening followed by a high morning across midnight);
* periodic boluses: ``ceil(24 h / interval)`` boluses (the cumulative grows by exactly one bolus
  per interval, so no 24 h window holds more);
* single boluses not yet finished: their whole volume;
* patient boluses: ``max_count_per_day`` whole boluses — with the lockout at least the bolus
  duration and at most N starts in any rolling 24 h, the two boluses cut by a window's edges
  together contribute at most one bolus (docs/implant.md);
* one stroke of margin, because delivery is quantised: strokes in a window exceed the exact
  integral by less than one stroke.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pint

from thecal.therapy.admixture import Admixture
from thecal.therapy.delivery import DAY_H, WEEK_H, DeliveryModel, hours
from thecal.therapy.drugs import Bound, Limit
from thecal.therapy.findings import Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.schedule import PatientBolus, Schedule
from thecal.units import Q_, ureg

# Parsed once: pint re-parses a prefixed unit string such as "mL" on every call (~60 µs), which
# made unit conversions a large share of a simulated pump-year.
_ML = ureg.Unit("mL")


@dataclass(frozen=True)
class DrugHardLimits:
    """Hard limits for one drug as loaded into the firmware (``None`` = no hard limit)."""

    drug: str
    daily_dose_max: pint.Quantity | None = None
    daily_source: str = ""
    bolus_dose_max: pint.Quantity | None = None
    bolus_source: str = ""


@dataclass(frozen=True)
class FirmwareLimits:
    """Every drug the firmware knows. A drug missing here is refused (unknown to the device)."""

    drugs: tuple[DrugHardLimits, ...]

    def get(self, name: str) -> DrugHardLimits | None:
        wanted = name.casefold()
        for d in self.drugs:
            if d.drug.casefold() == wanted:
                return d
        return None


def hard_limits_from_library(
    library: DrugLibrary, context: Mapping[str, str] | None = None
) -> FirmwareLimits:
    """The HARD daily- and bolus-dose limits of every library drug that apply in ``context``
    (e.g. ``{"opioid_naive": "false"}``); the lowest wins when several apply."""
    ctx = dict(context or {})
    out: list[DrugHardLimits] = []
    for drug in library.drugs:
        daily = _lowest(drug.limits_for(Bound.DAILY_DOSE_MAX, ctx))
        bolus = _lowest(drug.limits_for(Bound.BOLUS_DOSE_MAX, ctx))
        out.append(
            DrugHardLimits(
                drug.name,
                daily[0] if daily else None,
                daily[1] if daily else "",
                bolus[0] if bolus else None,
                bolus[1] if bolus else "",
            )
        )
    return FirmwareLimits(tuple(out))


def _lowest(limits: Iterable[Limit]) -> tuple[pint.Quantity, str] | None:
    best: tuple[pint.Quantity, str] | None = None
    for lim in limits:
        if lim.level is Level.HARD and (best is None or lim.value < best[0]):
            best = (lim.value, lim.source)
    return best


@dataclass(frozen=True)
class VolumeLimit:
    """The tightest per-volume form of a dose limit for one admixture: ``ml`` of the mixture
    reaches ``limit`` of ``drug`` first (``inf`` when no drug has a limit)."""

    ml: float
    drug: str = ""
    limit: pint.Quantity | None = None
    source: str = ""


def volume_limit(admixture: Admixture, limits: FirmwareLimits, bound: Bound) -> VolumeLimit:
    """Daily (``Bound.DAILY_DOSE_MAX``, mL per 24 h) or per-bolus (``Bound.BOLUS_DOSE_MAX``, mL)
    volume at which the first drug of ``admixture`` reaches its hard limit."""
    best = VolumeLimit(math.inf)
    for ing in admixture.ingredients:
        lim = limits.get(ing.drug.name)
        if lim is None:
            continue
        if bound is Bound.DAILY_DOSE_MAX and lim.daily_dose_max is not None:
            per_day = lim.daily_dose_max * Q_(1.0, "d") / ing.concentration
            ml = float(per_day.to(_ML).magnitude)
            if ml < best.ml:
                best = VolumeLimit(ml, ing.drug.name, lim.daily_dose_max, lim.daily_source)
        elif bound is Bound.BOLUS_DOSE_MAX and lim.bolus_dose_max is not None:
            ml = float((lim.bolus_dose_max / ing.concentration).to(_ML).magnitude)
            if ml < best.ml:
                best = VolumeLimit(ml, ing.drug.name, lim.bolus_dose_max, lim.bolus_source)
    return best


def basal_step_hours(schedule: Schedule) -> list[float]:
    """Step starts as hours within the week (Monday 00:00 = 0)."""
    return [
        d * DAY_H + s.start.hour + s.start.minute / 60.0 + s.start.second / 3600.0
        for d, day in enumerate(schedule.basal.days)
        for s in day.steps
    ]


def basal_window_max(model: DeliveryModel) -> float:
    """Exact maximum basal volume (mL) in any 24 h window of the weekly program."""
    best = 0.0
    for s in basal_step_hours(model.schedule):
        for x in (s, (s - DAY_H) % WEEK_H):
            best = max(best, model.basal_cumulative(x + DAY_H) - model.basal_cumulative(x))
    return best


def window_max(model: DeliveryModel, patient: PatientBolus | None, from_device_h: float) -> float:
    """Upper bound (mL) on what the program can deliver in any 24 h window from
    ``from_device_h`` on: basal (exact) + periodic + unfinished single + patient boluses."""
    total = basal_window_max(model) + model.periodic_daily_volume(worst=True)
    for s in model.schedule.single:
        if hours(s.at) + float(s.duration.to("h").magnitude) > from_device_h:
            total += float(s.volume.to(_ML).magnitude)
    if patient is not None:
        total += float(patient.volume.to(_ML).magnitude) * patient.max_count_per_day
    return total


def schedule_breakpoints(schedule: Schedule, a: float, b: float) -> list[float]:
    """Device hours in ``(a, b)`` where the schedule's delivery rate may change."""
    out: list[float] = []
    for s in basal_step_hours(schedule):
        x = s + math.ceil((a - s) / WEEK_H) * WEEK_H
        while x < b:
            if x > a:
                out.append(x)
            x += WEEK_H
    for p in schedule.periodic:
        every = float(p.every.to("h").magnitude)
        first = hours(p.first)
        for base in (first, first + float(p.duration.to("h").magnitude)):
            x = base + max(0, math.ceil((a - base) / every)) * every
            while x < b:
                if x > a:
                    out.append(x)
                x += every
    for single in schedule.single:
        start = hours(single.at)
        for x in (start, start + float(single.duration.to("h").magnitude)):
            if a < x < b:
                out.append(x)
    return out
