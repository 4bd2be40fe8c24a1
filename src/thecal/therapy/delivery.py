"""Exact delivered volume and dose over any interval: closed-form integrals of
piecewise-constant rates (no time-stepping), and the inverse (when will V be delivered).

Internally times are hours since a Monday midnight and volumes are mL (floats); every public
function takes and returns datetimes and pint quantities.
"""

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pint

from thecal.therapy.admixture import Admixture
from thecal.therapy.schedule import PatientBolus, PeriodicBolus, Schedule, SingleBolus
from thecal.units import HOUR, ML, ML_PER_DAY, ML_PER_HOUR, Q_

EPOCH = datetime(2001, 1, 1)  # a Monday, 00:00: weekday programs line up with it
WEEK_H = 168.0
DAY_H = 24.0


def hours(t: datetime) -> float:
    """Hours from :data:`EPOCH` to ``t`` (naive local device time)."""
    if t.tzinfo is not None:
        t = t.replace(tzinfo=None)
    return (t - EPOCH).total_seconds() / 3600.0


def at_hours(h: float) -> datetime:
    return EPOCH + timedelta(hours=h)


@dataclass(frozen=True)
class ReportedBolus:
    """A patient bolus the device reports as given: ``volume`` starting at ``at``."""

    at: datetime
    volume: pint.Quantity


class DeliveryModel:
    """A schedule compiled for fast exact integration. Build once, query many times."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        starts: list[float] = []
        rates: list[float] = []
        for d, day in enumerate(schedule.basal.days):
            for step in day.steps:
                starts.append(
                    d * DAY_H
                    + step.start.hour
                    + step.start.minute / 60.0
                    + step.start.second / 3600.0
                )
                rates.append(float(step.rate.to(ML_PER_HOUR).magnitude))
        self._starts = starts
        self._rates = rates
        cum = [0.0]
        for i in range(len(starts)):
            end = starts[i + 1] if i + 1 < len(starts) else WEEK_H
            cum.append(cum[-1] + rates[i] * (end - starts[i]))
        self._cum = cum
        self.week_volume_ml = cum[-1]
        self._periodic = [
            (
                hours(p.first),
                float(p.every.to(HOUR).magnitude),
                float(p.duration.to(HOUR).magnitude),
                float(p.volume.to(ML).magnitude),
            )
            for p in schedule.periodic
        ]
        self._single = [
            (hours(s.at), float(s.duration.to(HOUR).magnitude), float(s.volume.to(ML).magnitude))
            for s in schedule.single
        ]

    # -- cumulative functions (mL delivered from the epoch to h) --------------------------

    def basal_cumulative(self, h: float) -> float:
        weeks = math.floor(h / WEEK_H)
        within = h - weeks * WEEK_H
        i = bisect_right(self._starts, within) - 1
        return (
            weeks * self.week_volume_ml + self._cum[i] + self._rates[i] * (within - self._starts[i])
        )

    def boluses_cumulative(self, h: float) -> float:
        total = 0.0
        for first, every, duration, volume in self._periodic:
            if h <= first:
                continue
            k = math.floor((h - first) / every)
            within = (h - first) - k * every
            total += volume * k + volume * min(within, duration) / duration
        for at, duration, volume in self._single:
            total += volume * min(max((h - at) / duration, 0.0), 1.0)
        return total

    def cumulative(self, h: float) -> float:
        return self.basal_cumulative(h) + self.boluses_cumulative(h)

    def rate_at(self, h: float) -> float:
        """Programmed basal rate (mL/h) at ``h``."""
        within = h - math.floor(h / WEEK_H) * WEEK_H
        return self._rates[bisect_right(self._starts, within) - 1]

    # -- public API ---------------------------------------------------------------------

    def volume(self, start: datetime, end: datetime) -> pint.Quantity:
        """Volume (mL) the schedule delivers from ``start`` to ``end`` (exact)."""
        a, b = hours(start), hours(end)
        if b < a:
            raise ValueError("end is before start")
        return Q_(self.cumulative(b) - self.cumulative(a), "mL")

    def day_volumes(self) -> tuple[pint.Quantity, ...]:
        """Basal volume programmed for each weekday, Monday first (mL)."""
        return tuple(
            Q_(self.basal_cumulative((d + 1) * DAY_H) - self.basal_cumulative(d * DAY_H), "mL")
            for d in range(7)
        )

    def periodic_daily_volume(self, worst: bool) -> float:
        """Periodic boluses per 24 h (mL): the average, or the most any 24 h window holds."""
        total = 0.0
        for _, every, _, volume in self._periodic:
            per_day = math.ceil(DAY_H / every - 1e-12) if worst else DAY_H / every
            total += volume * per_day
        return total

    def time_to_deliver(
        self,
        start: datetime,
        volume_ml: float,
        patient: PatientBolus | None = None,
        reported: Sequence[ReportedBolus] = (),
        horizon_days: float = 3650.0,
    ) -> datetime | None:
        """Earliest time at which ``volume_ml`` has left the reservoir since ``start``.

        With ``patient`` the worst case is assumed: every allowed patient bolus taken, each day's
        allowance (``max_count_per_day`` boluses) leaving at the start of each 24 h from
        ``start`` — an upper bound on any lockout-respecting pattern. Reported boluses count
        where they happened. ``None`` if it is never reached within ``horizon_days``.
        """
        a = hours(start)
        if volume_ml <= 0:
            return start
        base = self.cumulative(a)
        daily_patient = (
            float(patient.volume.to(ML).magnitude) * patient.max_count_per_day if patient else 0.0
        )
        events = sorted((hours(r.at), float(r.volume.to(ML).magnitude)) for r in reported)

        def delivered(h: float) -> float:
            tau = h - a
            extra = (
                daily_patient * math.ceil(tau / DAY_H - 1e-12) if daily_patient and tau > 0 else 0.0
            )
            extra += sum(v for t, v in events if a <= t < h)
            return self.cumulative(h) - base + extra

        lo, hi = a, a + 1.0
        limit = a + horizon_days * DAY_H
        while delivered(hi) < volume_ml:
            lo, hi = hi, a + (hi - a) * 2.0
            if hi > limit:
                if delivered(limit) < volume_ml:
                    return None
                hi = limit
                break
        # Monotone non-decreasing: bisect to 0.1 s.
        while hi - lo > 1.0 / 36000.0:
            mid = (lo + hi) / 2.0
            if delivered(mid) >= volume_ml:
                hi = mid
            else:
                lo = mid
        return at_hours(hi)


def volume_delivered(schedule: Schedule, start: datetime, end: datetime) -> pint.Quantity:
    """Volume (mL) ``schedule`` delivers between ``start`` and ``end``, exactly."""
    return DeliveryModel(schedule).volume(start, end)


def dose_delivered(
    schedule: Schedule, admixture: Admixture, start: datetime, end: datetime
) -> dict[str, pint.Quantity]:
    """Mass of each drug delivered between ``start`` and ``end`` (exact)."""
    return admixture.doses(volume_delivered(schedule, start, end))


@dataclass(frozen=True)
class DailyDose:
    """Per drug, per day (time base explicit: mass/d). ``nominal`` = the highest weekday's
    basal plus periodic boluses (average per 24 h); ``worst_case`` adds the most periodic
    boluses any 24 h can hold and every allowed patient bolus."""

    nominal_volume: pint.Quantity
    worst_case_volume: pint.Quantity
    nominal: dict[str, pint.Quantity]
    worst_case: dict[str, pint.Quantity]
    by_weekday: tuple[pint.Quantity, ...]


def daily_dose(
    schedule: Schedule, admixture: Admixture, patient: PatientBolus | None = None
) -> DailyDose:
    model = DeliveryModel(schedule)
    days = model.day_volumes()
    basal_max = max(float(d.magnitude) for d in days)
    nominal = basal_max + model.periodic_daily_volume(worst=False)
    worst = basal_max + model.periodic_daily_volume(worst=True)
    if patient is not None:
        worst += float(patient.worst_case_daily_volume.to(ML).magnitude)
    per_day = Q_(1.0, "1/d")
    nominal_q = Q_(nominal, "mL") * per_day
    worst_q = Q_(worst, "mL") * per_day
    return DailyDose(
        nominal_volume=nominal_q.to(ML_PER_DAY),
        worst_case_volume=worst_q.to(ML_PER_DAY),
        nominal={k: v.to(_mass_unit(v) + "/d") for k, v in admixture.dose_rates(nominal_q).items()},
        worst_case={
            k: v.to(_mass_unit(v) + "/d") for k, v in admixture.dose_rates(worst_q).items()
        },
        by_weekday=tuple((d * per_day).to(ML_PER_DAY) for d in days),
    )


def _mass_unit(q: pint.Quantity) -> str:
    """mg for milligram-scale drugs, ug (mcg) when the concentration was given in micrograms."""
    names = {str(n) for n, _ in q.unit_items()}
    return "ug" if names & {"microgram", "mcg"} else "mg"


def bolus_volumes(schedule: Schedule) -> tuple[PeriodicBolus | SingleBolus, ...]:
    return (*schedule.periodic, *schedule.single)
