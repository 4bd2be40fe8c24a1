"""Delivery schedules, resolved to volumes: basal (continuous or flex by time of day and
weekday), periodic boluses, single boluses, and the patient-activated bolus allowance.

Doses entered by the user are turned into volumes by the plan (via the admixture) before they
reach these types, so the integrals below work on one quantity: volume.
"""

from dataclasses import dataclass
from datetime import datetime, time

import pint

from thecal.units import HOUR, ML, ML_PER_DAY, Q_, Dimension, InputError, check_dimension

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Shipped default of drugs.toml [settings] max_flex_steps_per_day (a product choice; the
# source text is there). Plans use the library's value; each pump's own limit is checked
# separately (devices.toml max_steps_per_day).
MAX_STEPS_PER_DAY = 24


@dataclass(frozen=True)
class FlexStep:
    """From ``start`` (time of day) until the next step, deliver ``rate`` (volume/time)."""

    start: time
    rate: pint.Quantity


@dataclass(frozen=True)
class DayProgram:
    steps: tuple[FlexStep, ...]


@dataclass(frozen=True)
class BasalProgram:
    """Seven day programs, Monday first. Continuous = one step at 00:00 on every day."""

    days: tuple[DayProgram, ...]

    @property
    def is_continuous(self) -> bool:
        first = self.days[0].steps
        return len(first) == 1 and all(d.steps == first for d in self.days)

    @property
    def varies_by_weekday(self) -> bool:
        return any(d != self.days[0] for d in self.days)

    def rates(self) -> tuple[pint.Quantity, ...]:
        return tuple(s.rate for d in self.days for s in d.steps)


@dataclass(frozen=True)
class PeriodicBolus:
    """``volume`` over ``duration``, every ``every``, the first one starting at ``first``."""

    volume: pint.Quantity
    every: pint.Quantity
    duration: pint.Quantity
    first: datetime


@dataclass(frozen=True)
class SingleBolus:
    volume: pint.Quantity
    at: datetime
    duration: pint.Quantity


@dataclass(frozen=True)
class PatientBolus:
    """Patient-activated bolus: ``volume`` per bolus over ``duration``; a new one only after
    ``lockout`` (start to start); at most ``max_per_day`` in any 24 h."""

    volume: pint.Quantity
    duration: pint.Quantity
    lockout: pint.Quantity
    max_per_day: int

    @property
    def max_count_per_day(self) -> int:
        """Most boluses that fit in 24 h: limited by the daily maximum and by the lockout
        (starts at 0, L, 2L, … inside a half-open 24 h window: ceil(24 h / L))."""
        lockout_h = float(self.lockout.to(HOUR).magnitude)
        by_lockout = int(-(-24.0 // lockout_h)) if lockout_h > 0 else self.max_per_day
        return min(self.max_per_day, by_lockout)

    @property
    def worst_case_daily_volume(self) -> pint.Quantity:
        return (self.volume * self.max_count_per_day).to(ML)


@dataclass(frozen=True)
class Schedule:
    basal: BasalProgram
    periodic: tuple[PeriodicBolus, ...] = ()
    single: tuple[SingleBolus, ...] = ()


# --- construction with checks --------------------------------------------------------------


def _check_rate(rate: pint.Quantity, field: str) -> pint.Quantity:
    check_dimension(rate, field, Dimension.FLOW_RATE)
    if rate.magnitude < 0:
        raise InputError(field, "must not be negative", "a flow rate >= 0 such as '0.5 mL/d'")
    return rate.to(ML_PER_DAY)


def continuous(rate: pint.Quantity, field: str = "schedule.rate") -> BasalProgram:
    """The same ``rate`` all day, every day."""
    day = DayProgram((FlexStep(time(0, 0), _check_rate(rate, field)),))
    return BasalProgram((day,) * 7)


def day_program(
    steps: list[tuple[time, pint.Quantity]],
    field: str = "schedule.steps",
    max_steps: int = MAX_STEPS_PER_DAY,
) -> DayProgram:
    """Flex steps for one day. The first must start at 00:00 so every minute has a rate;
    starts strictly increase; at most ``max_steps`` steps a day (one more is refused)."""
    if not steps:
        raise InputError(field, "has no steps", "at least one step starting at 00:00")
    if len(steps) > max_steps:
        raise InputError(field, f"has {len(steps)} steps", f"at most {max_steps} a day")
    ordered = sorted(steps, key=lambda s: s[0])
    if ordered[0][0] != time(0, 0):
        raise InputError(f"{field}[0].start", f"starts at {ordered[0][0]:%H:%M}", "'00:00'")
    for i in range(1, len(ordered)):
        if ordered[i][0] == ordered[i - 1][0]:
            raise InputError(
                f"{field}[{i}].start", "two steps start at the same time", "distinct times"
            )
    return DayProgram(
        tuple(FlexStep(t, _check_rate(r, f"{field}[{i}].rate")) for i, (t, r) in enumerate(ordered))
    )


def weekly(days: dict[str, DayProgram], default: DayProgram | None = None) -> BasalProgram:
    """A basal program that may differ by weekday (keys 'mon'…'sun'); missing days use
    ``default``."""
    out: list[DayProgram] = []
    for name in WEEKDAYS:
        program = days.get(name, default)
        if program is None:
            raise InputError(f"schedule.days.{name}", "has no program", "steps for every weekday")
        out.append(program)
    return BasalProgram(tuple(out))


def periodic_bolus(
    volume: pint.Quantity,
    every: pint.Quantity,
    duration: pint.Quantity,
    first: datetime,
    field: str = "schedule.periodic",
) -> PeriodicBolus:
    """Interval and duration must name their unit: the 2004 recall was minutes typed as hours.
    Duration must fit inside the interval."""
    check_dimension(volume, f"{field}.volume", Dimension.VOLUME)
    check_dimension(every, f"{field}.every", Dimension.TIME)
    check_dimension(duration, f"{field}.duration", Dimension.TIME)
    if volume.magnitude <= 0:
        raise InputError(f"{field}.volume", "must be greater than zero")
    if every.to("min").magnitude < 1:
        raise InputError(f"{field}.every", f"{every:~P} is implausibly short", "at least 1 min")
    if duration.magnitude <= 0 or duration > every:
        raise InputError(f"{field}.duration", "must be > 0 and no longer than the interval")
    return PeriodicBolus(volume.to(ML), every.to(HOUR), duration.to(HOUR), first)


def single_bolus(
    volume: pint.Quantity, at: datetime, duration: pint.Quantity, field: str = "schedule.single"
) -> SingleBolus:
    check_dimension(volume, f"{field}.volume", Dimension.VOLUME)
    check_dimension(duration, f"{field}.duration", Dimension.TIME)
    if volume.magnitude <= 0 or duration.magnitude <= 0:
        raise InputError(field, "volume and duration must be greater than zero")
    return SingleBolus(volume.to(ML), at, duration.to(HOUR))


def patient_bolus(
    volume: pint.Quantity,
    duration: pint.Quantity,
    lockout: pint.Quantity,
    max_per_day: int,
    field: str = "patient_bolus",
) -> PatientBolus:
    check_dimension(volume, f"{field}.volume", Dimension.VOLUME)
    check_dimension(duration, f"{field}.duration", Dimension.TIME)
    check_dimension(lockout, f"{field}.lockout", Dimension.TIME)
    if volume.magnitude <= 0:
        raise InputError(f"{field}.dose", "must be greater than zero")
    if duration.magnitude <= 0:
        raise InputError(f"{field}.duration", "must be greater than zero", "e.g. '10 min'")
    if lockout < duration:
        raise InputError(
            f"{field}.lockout", "is shorter than the bolus duration", f">= {duration:~P}"
        )
    if isinstance(max_per_day, bool) or not isinstance(max_per_day, int) or max_per_day < 1:
        raise InputError(f"{field}.max_per_day", f"got {max_per_day!r}", "a whole number >= 1")
    return PatientBolus(volume.to(ML), duration.to(HOUR), lockout.to(HOUR), max_per_day)


ZERO_ML = Q_(0.0, "mL")
