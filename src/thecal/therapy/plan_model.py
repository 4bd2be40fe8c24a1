"""The typed plan: what a program, fill and refill are, as pint quantities — the object the
services, the programmer and the clinic build and pass to :func:`thecal.therapy.plan.resolve`.

Every constructor checks its values (a quantity, finite, of the right dimension, not negative,
inside the parser's magnitude window; the shape rules a plan file has) and raises
:class:`InputError` naming the field. ``where`` is the field's path in a plan file (the file
DTO, :mod:`thecal.therapy.plan_file`, passes it so an error names the file's key); it takes
no part in equality. Text never appears here: the DTO module reads and writes it.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Literal

import pint

from thecal.therapy.schedule import WEEKDAYS
from thecal.units import MAX_MAGNITUDE, MIN_MAGNITUDE, Q_, Dimension, InputError, parse_quantity

Origin = Literal["spinal", "cerebral"]
Mode = Literal["continuous", "flex"]
_ORIGINS = ("spinal", "cerebral")


def quantity(value: Any, where: str, dim: Dimension) -> pint.Quantity:
    """``value`` if it is a scalar pint quantity of ``dim``, finite, not negative and inside
    the parser's window (a nonzero magnitude from 1e-20 to 1e20 in its own unit, as when
    written): the checks a plan file's text gets. Else :class:`InputError` naming ``where``."""
    if not isinstance(value, pint.Quantity):
        raise InputError(where, f"got {type(value).__name__}, not a quantity", dim.example)
    q = parse_quantity(value, where, dim)  # finite, dimension, not negative
    try:
        magnitude = abs(float(q.magnitude))
    except TypeError as exc:  # an array: one value per field
        raise InputError(where, "is not one number", dim.example) from exc
    if magnitude > MAX_MAGNITUDE or (magnitude and magnitude < MIN_MAGNITUDE):
        raise InputError(where, f"{q:~P} is outside {MIN_MAGNITUDE:g}..{MAX_MAGNITUDE:g}")
    return q


def _optional(value: Any, where: str, dim: Dimension) -> None:
    if value is not None:
        quantity(value, where, dim)


def _instance(value: Any, where: str, kind: type | tuple[type, ...], expected: str) -> None:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise InputError(where, f"got {type(value).__name__}", expected)


def _one_of(a: Any, b: Any, where: str, names: tuple[str, str]) -> None:
    if (a is None) == (b is None):
        raise InputError(where, f"give exactly one of '{names[0]}' or '{names[1]}'")


def _amount(volume: Any, dose: Any, where: str) -> None:
    """A bolus amount: a volume, or a dose (mass) of one named drug."""
    _one_of(volume, dose, where, ("volume", "dose"))
    _optional(volume, f"{where}.volume", Dimension.VOLUME)
    _optional(dose, f"{where}.dose", Dimension.MASS)


@dataclass(frozen=True, kw_only=True)
class PatientFacts:
    """What the limits depend on; None = not recorded."""

    opioid_naive: bool | None = None
    spasticity_origin: Origin | None = None
    cancer_pain: bool | None = None
    where: str = field(default="patient", compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("opioid_naive", "cancer_pain"):
            value = getattr(self, name)
            if value is not None:
                _instance(value, f"{self.where}.{name}", bool, "true or false")
        if self.spasticity_origin is not None and self.spasticity_origin not in _ORIGINS:
            raise InputError(
                f"{self.where}.spasticity_origin", f"got {self.spasticity_origin!r}",
                "'spinal' or 'cerebral'",
            )  # fmt: skip


# The pump values a user may enter (labelling values the catalog lacks), with their dimension.
PUMP_QUANTITIES = (
    ("reservoir", Dimension.VOLUME),
    ("internal_volume", Dimension.VOLUME),
    ("rate_resolution", Dimension.FLOW_RATE),
    ("low_reservoir_alarm", Dimension.VOLUME),
    ("max_rate", Dimension.FLOW_RATE),
)


@dataclass(frozen=True, kw_only=True)
class PumpSettings:
    """The pump model from the device catalog and the values entered for it."""

    model: str
    reservoir: pint.Quantity | None = None
    internal_volume: pint.Quantity | None = None
    rate_resolution: pint.Quantity | None = None
    low_reservoir_alarm: pint.Quantity | None = None
    max_rate: pint.Quantity | None = None
    where: str = field(default="pump", compare=False, repr=False)

    def __post_init__(self) -> None:
        _instance(self.model, f"{self.where}.model", str, "a pump model from the device catalog")
        for name, dim in PUMP_QUANTITIES:
            _optional(getattr(self, name), f"{self.where}.{name}", dim)


@dataclass(frozen=True, kw_only=True)
class CatheterSettings:
    model: str | None = None
    volume: pint.Quantity | None = None
    length: pint.Quantity | None = None
    volume_per_length: pint.Quantity | None = None
    where: str = field(default="catheter", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.model is not None:
            _instance(self.model, f"{self.where}.model", str, "a catheter model")
        _optional(self.volume, f"{self.where}.volume", Dimension.VOLUME)
        _optional(self.length, f"{self.where}.length", Dimension.LENGTH)
        _optional(
            self.volume_per_length, f"{self.where}.volume_per_length", Dimension.VOLUME_PER_LENGTH
        )


@dataclass(frozen=True, kw_only=True)
class Ingredient:
    drug: str
    concentration: pint.Quantity
    where: str = field(default="admixture[0]", compare=False, repr=False)

    def __post_init__(self) -> None:
        _instance(self.drug, f"{self.where}.drug", str, "a drug name from the library")
        quantity(self.concentration, f"{self.where}.concentration", Dimension.CONCENTRATION)


@dataclass(frozen=True, kw_only=True)
class FlexStep:
    """A flex step from ``start`` (time of day): a rate, or a daily dose of the schedule's
    drug; on ``days`` only (weekday names) or every day when None."""

    start: time
    rate: pint.Quantity | None = None
    dose: pint.Quantity | None = None
    days: tuple[str, ...] | None = None
    where: str = field(default="schedule.steps[0]", compare=False, repr=False)

    def __post_init__(self) -> None:
        _instance(self.start, f"{self.where}.start", time, "a time of day, 'HH:MM'")
        _one_of(self.rate, self.dose, self.where, ("rate", "dose"))
        _optional(self.rate, f"{self.where}.rate", Dimension.FLOW_RATE)
        _optional(self.dose, f"{self.where}.dose", Dimension.DOSE_RATE)
        for day in self.days or ():
            if day not in WEEKDAYS:
                raise InputError(f"{self.where}.days", f"got {day!r}", "mon, tue, ... sun")


@dataclass(frozen=True, kw_only=True)
class PeriodicDose:
    """A bolus of ``volume`` or ``dose`` (of ``drug``, default the first) every ``every``."""

    every: pint.Quantity
    duration: pint.Quantity
    first: datetime
    volume: pint.Quantity | None = None
    dose: pint.Quantity | None = None
    drug: str | None = None
    where: str = field(default="schedule.periodic[0]", compare=False, repr=False)

    def __post_init__(self) -> None:
        _amount(self.volume, self.dose, self.where)
        quantity(self.every, f"{self.where}.every", Dimension.TIME)
        quantity(self.duration, f"{self.where}.duration", Dimension.TIME)
        _instance(self.first, f"{self.where}.first", datetime, "a date-time")


@dataclass(frozen=True, kw_only=True)
class SingleDose:
    at: datetime
    duration: pint.Quantity
    volume: pint.Quantity | None = None
    dose: pint.Quantity | None = None
    drug: str | None = None
    where: str = field(default="schedule.single[0]", compare=False, repr=False)

    def __post_init__(self) -> None:
        _amount(self.volume, self.dose, self.where)
        _instance(self.at, f"{self.where}.at", datetime, "a date-time")
        quantity(self.duration, f"{self.where}.duration", Dimension.TIME)


@dataclass(frozen=True, kw_only=True)
class ScheduleSettings:
    """Continuous (one ``rate`` or daily ``dose``) or flex (``steps``), plus boluses."""

    mode: Mode = "continuous"
    rate: pint.Quantity | None = None
    dose: pint.Quantity | None = None
    drug: str | None = None
    steps: tuple[FlexStep, ...] = ()
    periodic: tuple[PeriodicDose, ...] = ()
    single: tuple[SingleDose, ...] = ()
    where: str = field(default="schedule", compare=False, repr=False)

    def __post_init__(self) -> None:
        w = self.where
        _optional(self.rate, f"{w}.rate", Dimension.FLOW_RATE)
        _optional(self.dose, f"{w}.dose", Dimension.DOSE_RATE)
        if self.mode == "continuous":
            if (self.rate is None) == (self.dose is None):
                raise InputError(w, "a continuous schedule needs exactly one of 'rate' or 'dose'")
            if self.steps:
                raise InputError(f"{w}.steps", "'steps' belong to mode = 'flex'")
        elif self.mode == "flex":
            if not self.steps:
                raise InputError(f"{w}.steps", "a flex schedule needs [[schedule.steps]]")
        else:
            raise InputError(f"{w}.mode", f"got {self.mode!r}", "'continuous' or 'flex'")
        for name, kind in (("steps", FlexStep), ("periodic", PeriodicDose), ("single", SingleDose)):
            for item in getattr(self, name):
                _instance(item, f"{w}.{name}", kind, kind.__name__)


@dataclass(frozen=True, kw_only=True)
class PatientBolusSettings:
    """The patient's own bolus: an amount, its duration, the lockout and most per 24 h."""

    duration: pint.Quantity
    lockout: pint.Quantity
    max_per_day: int
    volume: pint.Quantity | None = None
    dose: pint.Quantity | None = None
    drug: str | None = None
    where: str = field(default="patient_bolus", compare=False, repr=False)

    def __post_init__(self) -> None:
        _amount(self.volume, self.dose, self.where)
        quantity(self.duration, f"{self.where}.duration", Dimension.TIME)
        quantity(self.lockout, f"{self.where}.lockout", Dimension.TIME)
        _instance(self.max_per_day, f"{self.where}.max_per_day", int, "a whole number, 1 or more")
        if self.max_per_day < 1:
            raise InputError(f"{self.where}.max_per_day", f"got {self.max_per_day}", "1 or more")


@dataclass(frozen=True, kw_only=True)
class FillSettings:
    volume: pint.Quantity
    at: datetime
    first_fill: bool = False
    where: str = field(default="fill", compare=False, repr=False)

    def __post_init__(self) -> None:
        quantity(self.volume, f"{self.where}.volume", Dimension.VOLUME)
        _instance(self.at, f"{self.where}.at", datetime, "a date-time")
        _instance(self.first_fill, f"{self.where}.first_fill", bool, "true or false")


@dataclass(frozen=True, kw_only=True)
class PreviousSettings:
    """The program running before this one; ``admixture`` None = the same as now."""

    started: datetime
    schedule: ScheduleSettings
    admixture: tuple[Ingredient, ...] | None = None
    patient_bolus: PatientBolusSettings | None = None
    earlier_increases: tuple[datetime, ...] = ()
    where: str = field(default="previous", compare=False, repr=False)

    def __post_init__(self) -> None:
        _instance(self.started, f"{self.where}.started", datetime, "a date-time")
        for at in self.earlier_increases:
            _instance(at, f"{self.where}.earlier_increases", datetime, "date-times")


@dataclass(frozen=True, kw_only=True)
class InterruptionSettings:
    start: datetime
    end: datetime
    cause: str = "delivery stopped"
    where: str = field(default="interruption", compare=False, repr=False)

    def __post_init__(self) -> None:
        _instance(self.start, f"{self.where}.start", datetime, "a date-time")
        _instance(self.end, f"{self.where}.end", datetime, "a date-time")
        if self.end <= self.start:
            raise InputError(f"{self.where}.end", f"is not after {self.where}.start")


@dataclass(frozen=True, kw_only=True)
class ReportedBolusSettings:
    """A patient bolus the device reported (``volume`` at ``at``)."""

    at: datetime
    volume: pint.Quantity
    where: str = field(default="refill.reported_boluses[0]", compare=False, repr=False)

    def __post_init__(self) -> None:
        _instance(self.at, f"{self.where}.at", datetime, "a date-time")
        quantity(self.volume, f"{self.where}.volume", Dimension.VOLUME)


@dataclass(frozen=True, kw_only=True)
class RefillSettings:
    """The refill workflow numbers: the last fill, what was withdrawn, what was filled."""

    last_fill: FillSettings
    withdrawn: pint.Quantity
    filled: pint.Quantity | None = None
    confirmed_after_fill: pint.Quantity | None = None
    reported_boluses: tuple[ReportedBolusSettings, ...] = ()
    where: str = field(default="refill", compare=False, repr=False)

    def __post_init__(self) -> None:
        _instance(self.last_fill, f"{self.where}.last_fill", FillSettings, "a fill")
        quantity(self.withdrawn, f"{self.where}.withdrawn", Dimension.VOLUME)
        _optional(self.filled, f"{self.where}.filled", Dimension.VOLUME)
        _optional(self.confirmed_after_fill, f"{self.where}.confirmed_after_fill", Dimension.VOLUME)


@dataclass(frozen=True, kw_only=True)
class PrimingSettings:
    new_catheter_length: pint.Quantity | None = None
    catheter_volume: pint.Quantity | None = None
    include_pump_tubing: bool = False
    where: str = field(default="priming", compare=False, repr=False)

    def __post_init__(self) -> None:
        _optional(self.new_catheter_length, f"{self.where}.new_catheter_length", Dimension.LENGTH)
        _optional(self.catheter_volume, f"{self.where}.catheter_volume", Dimension.VOLUME)
        _instance(self.include_pump_tubing, f"{self.where}.include_pump_tubing", bool, "a flag")


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A plan: the program starting at ``at`` and its context (see the plan-file format for
    each section). ``start``: True starts the therapy (starting-dose limits apply), False a
    maintenance program or refill, None not stated."""

    at: datetime
    pump: PumpSettings
    admixture: tuple[Ingredient, ...]
    schedule: ScheduleSettings
    title: str = ""
    start: bool | None = None
    patient: PatientFacts = field(default_factory=PatientFacts)
    catheter: CatheterSettings | None = None
    patient_bolus: PatientBolusSettings | None = None
    fill: FillSettings | None = None
    next_refill: datetime | None = None
    previous: PreviousSettings | None = None
    interruption: InterruptionSettings | None = None
    refill: RefillSettings | None = None
    priming: PrimingSettings | None = None

    def __post_init__(self) -> None:
        _instance(self.at, "at", datetime, "a date-time")
        if not self.admixture:
            raise InputError("admixture", "is empty", "at least one drug and its concentration")
        # Sections are the typed ones (a file DTO passed here by mistake is refused by name).
        for i, item in enumerate(self.admixture):
            _instance(item, f"admixture[{i}]", Ingredient, "an Ingredient")
        for name, kind in _SECTIONS:
            value = getattr(self, name)
            if value is not None:
                _instance(value, name, kind, kind.__name__)
        if self.next_refill is not None:
            _instance(self.next_refill, "next_refill", datetime, "a date-time")


def volume_ml(value_ml: float, where: str) -> pint.Quantity:
    """A volume from a number of mL (a device counter), checked like any other volume."""
    if not math.isfinite(value_ml):
        raise InputError(where, f"{value_ml!r} mL is not a finite number", "a volume")
    return quantity(Q_(value_ml, "mL"), where, Dimension.VOLUME)


_SECTIONS: tuple[tuple[str, type], ...] = (
    ("patient", PatientFacts),
    ("pump", PumpSettings),
    ("schedule", ScheduleSettings),
    ("catheter", CatheterSettings),
    ("patient_bolus", PatientBolusSettings),
    ("fill", FillSettings),
    ("previous", PreviousSettings),
    ("interruption", InterruptionSettings),
    ("refill", RefillSettings),
    ("priming", PrimingSettings),
)
