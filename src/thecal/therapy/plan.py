"""The plan: one model that travels the whole way — read from a TOML plan file, checked by the
safety gate, written to the implant, stored as a prescription version.

``PlanFile`` is the file's shape (pydantic; its JSON Schema documents the format). Quantities are
strings with units (``"10 mg/mL"``) checked for dimension while parsing, so an error names the
field. :func:`resolve` turns a valid plan into core objects (admixture, schedule, proposals).
"""

from dataclasses import replace
from datetime import datetime, time
from typing import Annotated, Any, Literal

import pint
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.delivery import ReportedBolus
from thecal.therapy.device_limits import round_basal
from thecal.therapy.findings import Finding
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import (
    Interruption,
    Patient,
    PreviousProgram,
    ProgramProposal,
    RefillProposal,
)
from thecal.therapy.pump import CatheterSpec, PumpSpec
from thecal.therapy.reservoir import Fill
from thecal.therapy.schedule import (
    WEEKDAYS,
    BasalProgram,
    DayProgram,
    PatientBolus,
    PeriodicBolus,
    Schedule,
    SingleBolus,
    continuous,
    day_program,
    patient_bolus,
    periodic_bolus,
    single_bolus,
    weekly,
)
from thecal.units import Dimension, InputError, parse_quantity


def _checked(dimension: Dimension) -> AfterValidator:
    """A pydantic validator that keeps the text but refuses a wrong dimension."""

    def check(value: str) -> str:
        try:
            parse_quantity(value, "", dimension)
        except InputError as exc:
            raise ValueError(f"{exc.message} (expected {exc.expected})") from exc
        return value

    return AfterValidator(check)


def _doc(dimension: Dimension) -> Any:
    return Field(description=dimension.example, examples=[dimension.example.split("'")[1]])


V, T, L, C = Dimension.VOLUME, Dimension.TIME, Dimension.LENGTH, Dimension.CONCENTRATION
Volume = Annotated[str, _checked(V), _doc(V)]
Duration = Annotated[str, _checked(T), _doc(T)]
Length = Annotated[str, _checked(L), _doc(L)]
Concentration = Annotated[str, _checked(C), _doc(C)]
DoseRate = Annotated[str, _checked(Dimension.DOSE_RATE), _doc(Dimension.DOSE_RATE)]
FlowRate = Annotated[str, _checked(Dimension.FLOW_RATE), _doc(Dimension.FLOW_RATE)]
Mass = Annotated[str, _checked(Dimension.MASS), _doc(Dimension.MASS)]
VolumePerLength = Annotated[
    str, _checked(Dimension.VOLUME_PER_LENGTH), _doc(Dimension.VOLUME_PER_LENGTH)
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatientSpec(_Model):
    opioid_naive: bool | None = Field(
        None, description="true if the patient is opioid-naive; unknown if left out"
    )
    spasticity_origin: Literal["spinal", "cerebral"] | None = None
    cancer_pain: bool | None = Field(
        None,
        description="true for cancer pain (opioid titration steps up to 50 %, else 30 %); "
        "unknown if left out",
    )


class PumpEntry(_Model):
    model: str = Field(description="a pump model from the device catalog")
    reservoir: Volume | None = Field(None, description="bag volume for an external pump")
    internal_volume: Volume | None = Field(
        None, description="pump tubing volume from the labelling (not public for SynchroMed)"
    )
    rate_resolution: FlowRate | None = Field(
        None, description="smallest rate step, from the labelling; rates are rounded down"
    )
    low_reservoir_alarm: Volume | None = Field(None, description="programmed alarm threshold")
    max_rate: FlowRate | None = Field(
        None,
        description="highest rate the pump can deliver, from its labelling; only for a model "
        "whose catalog entry lacks it (not public for the shipped implanted pumps)",
    )


class CatheterEntry(_Model):
    model: str | None = None
    volume: Volume | None = Field(None, description="catheter volume, when known")
    length: Length | None = Field(None, description="implanted length")
    volume_per_length: VolumePerLength | None = Field(
        None, description="from the catheter labelling (not public for Medtronic catheters)"
    )


class IngredientEntry(_Model):
    drug: str
    concentration: Concentration


class Amount(_Model):
    """A bolus amount: a volume, or a dose of one named drug."""

    volume: Volume | None = None
    dose: Mass | None = None
    drug: str | None = Field(None, description="the drug the dose is of (default: the first)")

    @model_validator(mode="after")
    def _one(self) -> "Amount":
        if (self.volume is None) == (self.dose is None):
            raise ValueError("give exactly one of 'volume' or 'dose'")
        return self


class StepEntry(_Model):
    start: time = Field(description="time of day, 'HH:MM'")
    rate: FlowRate | None = None
    dose: DoseRate | None = None
    days: list[Weekday] | None = Field(None, description="weekdays this step belongs to")

    @model_validator(mode="after")
    def _one(self) -> "StepEntry":
        if (self.rate is None) == (self.dose is None):
            raise ValueError("give exactly one of 'rate' or 'dose'")
        return self


class PeriodicEntry(Amount):
    every: Duration
    duration: Duration
    first: datetime


class SingleEntry(Amount):
    at: datetime
    duration: Duration


class ScheduleEntry(_Model):
    mode: Literal["continuous", "flex"] = "continuous"
    rate: FlowRate | None = None
    dose: DoseRate | None = Field(None, description="target daily dose of `drug`, e.g. '2.5 mcg/d'")
    drug: str | None = Field(None, description="the drug doses refer to (default: the first)")
    steps: list[StepEntry] = Field(default_factory=list)
    periodic: list[PeriodicEntry] = Field(default_factory=list)
    single: list[SingleEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shape(self) -> "ScheduleEntry":
        if self.mode == "continuous":
            if (self.rate is None) == (self.dose is None):
                raise ValueError("a continuous schedule needs exactly one of 'rate' or 'dose'")
            if self.steps:
                raise ValueError("'steps' belong to mode = 'flex'")
        elif not self.steps:
            raise ValueError("a flex schedule needs [[schedule.steps]]")
        return self


class PatientBolusEntry(Amount):
    duration: Duration
    lockout: Duration
    max_per_day: int = Field(ge=1, description="most boluses in any 24 h")


class FillEntry(_Model):
    volume: Volume
    at: datetime
    first_fill: bool = Field(False, description="first fill of a new pump")


class PreviousEntry(_Model):
    started: datetime
    admixture: list[IngredientEntry] | None = Field(None, description="default: the same")
    schedule: ScheduleEntry
    patient_bolus: PatientBolusEntry | None = None
    earlier_increases: list[datetime] = Field(default_factory=list)


class InterruptionEntry(_Model):
    start: datetime
    end: datetime
    cause: str = "delivery stopped"


class ReportedBolusEntry(_Model):
    at: datetime
    volume: Volume


class RefillEntry(_Model):
    """The refill workflow numbers: the last fill, what was withdrawn, what was filled."""

    last_fill: FillEntry
    withdrawn: Volume
    filled: Volume | None = None
    confirmed_after_fill: Volume | None = None
    reported_boluses: list[ReportedBolusEntry] = Field(default_factory=list)


class PrimingEntry(_Model):
    new_catheter_length: Length | None = None
    catheter_volume: Volume | None = None
    include_pump_tubing: bool = False


class PlanFile(_Model):
    """A Thecal plan file (TOML)."""

    title: str = ""
    at: datetime = Field(description="when the program starts (local device time)")
    start: bool | None = Field(
        None,
        description="true: this program starts the therapy (new patient, new drug, first "
        "program after an implant) and starting-dose limits apply; false: a maintenance "
        "program or refill (no starting-dose limits); not set: starting-dose limits are shown "
        "as information only",
    )
    patient: PatientSpec = Field(default_factory=PatientSpec)
    pump: PumpEntry
    catheter: CatheterEntry | None = None
    # The most drugs is the library's max_admixture_drugs (checked in resolve): not fixed here,
    # so an institution may change it.
    admixture: list[IngredientEntry] = Field(min_length=1)
    schedule: ScheduleEntry
    patient_bolus: PatientBolusEntry | None = None
    fill: FillEntry | None = None
    next_refill: datetime | None = Field(None, description="planned date of the next refill")
    previous: PreviousEntry | None = None
    interruption: InterruptionEntry | None = None
    refill: RefillEntry | None = None
    priming: PrimingEntry | None = None


# --- resolution into core objects ------------------------------------------------------------


class ResolvedPlan:
    """A plan as core objects, ready for the gate and the calculators."""

    def __init__(
        self,
        plan: PlanFile,
        pump: PumpSpec,
        catheter: CatheterSpec | None,
        admixture: Admixture,
        program: ProgramProposal,
        rounding: list[Finding],
    ) -> None:
        self.plan = plan
        self.pump = pump
        self.catheter = catheter
        self.admixture = admixture
        self.program = program
        self.rounding = rounding

    @property
    def schedule(self) -> Schedule:
        return self.program.schedule

    @property
    def fill(self) -> Fill | None:
        f = self.plan.fill
        return _fill(f) if f else None

    @property
    def alarm_threshold(self) -> pint.Quantity | None:
        """The plan's low-reservoir alarm volume, None when the plan leaves it to the catalog."""
        alarm = self.plan.pump.low_reservoir_alarm
        return _q(alarm, Dimension.VOLUME, "pump.low_reservoir_alarm") if alarm else None

    @property
    def refill_proposal(self) -> RefillProposal | None:
        fill = self.fill
        if fill is None:
            return None
        reported = tuple(
            ReportedBolus(r.at, _q(r.volume, Dimension.VOLUME))
            for r in (self.plan.refill.reported_boluses if self.plan.refill else [])
        )
        r = self.plan.refill
        return RefillProposal(
            self.program,
            fill,
            self.plan.next_refill,
            self.alarm_threshold,
            reported,
            last_fill=_fill(r.last_fill, "refill.last_fill") if r else None,
            withdrawn=_q(r.withdrawn, Dimension.VOLUME, "refill.withdrawn") if r else None,
            filled=_q(r.filled, Dimension.VOLUME, "refill.filled") if r and r.filled else None,
            confirmed_after_fill=(
                _q(r.confirmed_after_fill, Dimension.VOLUME, "refill.confirmed_after_fill")
                if r and r.confirmed_after_fill
                else None
            ),
        )

    def catheter_volume(self) -> pint.Quantity | None:
        """Entered catheter volume, or implanted length × volume per length (entered or from
        the catalog). None when neither is known."""
        c = self.plan.catheter
        if c is None:
            return None
        if c.volume is not None:
            return _q(c.volume, Dimension.VOLUME)
        if c.length is None:
            return None
        per = (
            _q(c.volume_per_length, Dimension.VOLUME_PER_LENGTH)
            if c.volume_per_length
            else (self.catheter.volume_per_length if self.catheter else None)
        )
        if per is None:
            raise InputError(
                "catheter.volume_per_length",
                "is not public for this catheter and was not entered",
                "the volume per cm from the catheter labelling, e.g. '0.0026 mL/cm'",
            )
        return (_q(c.length, Dimension.LENGTH) * per).to("mL")


def resolve(plan: PlanFile, library: DrugLibrary, pumps: Any) -> ResolvedPlan:
    """Turn ``plan`` into core objects. ``pumps`` is the device catalog (``pump(model)`` and
    ``catheter(model)``). Raises :class:`InputError` naming the field on any problem."""
    spec = pumps.pump(plan.pump.model, "pump.model")
    pump = _pump_with_entries(spec, plan.pump)
    catheter = (
        pumps.catheter(plan.catheter.model, "catheter.model")
        if plan.catheter and plan.catheter.model
        else None
    )
    admixture = _admixture(plan.admixture, library, "admixture")
    max_steps = library.settings.max_flex_steps_per_day
    schedule, rounding = _schedule(plan.schedule, admixture, pump, "schedule", max_steps)
    bolus = _patient_bolus(plan.patient_bolus, admixture) if plan.patient_bolus else None
    patient = Patient(
        plan.patient.opioid_naive, plan.patient.spasticity_origin, plan.patient.cancer_pain
    )
    previous = None
    if plan.previous:
        prev_admixture = (
            _admixture(plan.previous.admixture, library, "previous.admixture")
            if plan.previous.admixture
            else admixture
        )
        prev_schedule, _ = _schedule(
            plan.previous.schedule, prev_admixture, pump, "previous.schedule", max_steps
        )
        prev_bolus = (
            _patient_bolus(plan.previous.patient_bolus, prev_admixture, "previous.patient_bolus")
            if plan.previous.patient_bolus
            else None
        )
        previous = PreviousProgram(
            prev_admixture,
            prev_schedule,
            plan.previous.started,
            prev_bolus,
            tuple(plan.previous.earlier_increases),
        )
    interruption = None
    if plan.interruption:
        i = plan.interruption
        if i.end <= i.start:
            raise InputError("interruption.end", "is not after interruption.start")
        interruption = Interruption(i.start, i.end, i.cause)
    program = ProgramProposal(
        admixture, schedule, pump, plan.at, patient, bolus, previous, interruption, plan.start
    )
    resolved = ResolvedPlan(plan, pump, catheter, admixture, program, rounding)
    if previous is not None and previous.admixture.drug_names != admixture.drug_names:
        # A drug change: the old fluid in the catheter matters (drug_change_at_refill).
        try:
            volume = resolved.catheter_volume()
        except InputError:
            volume = None  # the drug-change finding then says the catheter volume is unknown
        resolved.program = replace(program, catheter_volume=volume)
    return resolved


def _q(text: str, dim: Dimension, field: str = "") -> pint.Quantity:
    return parse_quantity(text, field, dim)


def _fill(f: FillEntry, field: str = "fill") -> Fill:
    return Fill(_q(f.volume, Dimension.VOLUME, f"{field}.volume").to("mL"), f.at, f.first_fill)


def _pump_with_entries(spec: PumpSpec, entry: PumpEntry) -> PumpSpec:
    from dataclasses import replace

    changes: dict[str, Any] = {}
    sources = dict(spec.sources)
    for name, dim in (
        ("reservoir", Dimension.VOLUME),
        ("internal_volume", Dimension.VOLUME),
        ("rate_resolution", Dimension.FLOW_RATE),
        ("low_reservoir_alarm", Dimension.VOLUME),
        ("max_rate", Dimension.FLOW_RATE),
    ):
        value = getattr(entry, name)
        if value is not None:
            changes[name] = _q(value, dim, f"pump.{name}")
            sources[name] = "entered by the user"
    if entry.reservoir is not None and spec.reservoir is not None:
        raise InputError(
            "pump.reservoir",
            f"{spec.model} has a fixed reservoir of "
            f"{spec.reservoir:~P}; enter a reservoir only for external pumps",
        )
    if entry.max_rate is not None and spec.max_rate is not None:
        raise InputError(
            "pump.max_rate",
            f"{spec.model}'s highest rate is in the device catalog "
            f"({spec.max_rate:~P}); enter it only for a pump whose catalog entry lacks it",
        )
    return replace(spec, sources=tuple(sources.items()), **changes)


def _admixture(entries: list[IngredientEntry], library: DrugLibrary, field: str) -> Admixture:
    pairs = []
    for i, e in enumerate(entries):
        drug = library.get(e.drug, f"{field}[{i}].drug")
        pairs.append(
            (drug, _q(e.concentration, Dimension.CONCENTRATION, f"{field}[{i}].concentration"))
        )
    return make_admixture(pairs, field, library.settings.max_admixture_drugs)


def _flow(
    admixture: Admixture, rate: str | None, dose: str | None, drug: str | None, field: str
) -> pint.Quantity:
    if rate is not None:
        return _q(rate, Dimension.FLOW_RATE, f"{field}.rate").to("mL/d")
    assert dose is not None
    name = drug or admixture.drug_names[0]
    return admixture.flow_for(name, _q(dose, Dimension.DOSE_RATE, f"{field}.dose"), f"{field}.dose")


def _volume(admixture: Admixture, amount: Amount, field: str) -> pint.Quantity:
    if amount.volume is not None:
        return _q(amount.volume, Dimension.VOLUME, f"{field}.volume").to("mL")
    assert amount.dose is not None
    name = amount.drug or admixture.drug_names[0]
    return admixture.volume_for(
        name, _q(amount.dose, Dimension.MASS, f"{field}.dose"), f"{field}.dose"
    )


def _schedule(
    entry: ScheduleEntry, admixture: Admixture, pump: PumpSpec, field: str, max_steps: int
) -> tuple[Schedule, list[Finding]]:
    basal: BasalProgram
    if entry.mode == "continuous":
        basal = continuous(
            _flow(admixture, entry.rate, entry.dose, entry.drug, field), f"{field}.rate"
        )
    else:
        common: list[tuple[time, pint.Quantity]] = []
        by_day: dict[str, list[tuple[time, pint.Quantity]]] = {}
        for i, step in enumerate(entry.steps):
            where = f"{field}.steps[{i}]"
            rate = _flow(admixture, step.rate, step.dose, entry.drug, where)
            for day in step.days or []:
                by_day.setdefault(day, []).append((step.start, rate))
            if not step.days:
                common.append((step.start, rate))
        days: dict[str, DayProgram] = {}
        for name in WEEKDAYS:
            steps = by_day.get(name)
            if steps is not None:
                days[name] = day_program(steps, f"{field}.steps[days={name}]", max_steps)
        default = day_program(common, f"{field}.steps", max_steps) if common else None
        basal = weekly(days, default)
    basal, rounding = round_basal(basal, pump)
    periodic: list[PeriodicBolus] = []
    for i, p in enumerate(entry.periodic):
        where = f"{field}.periodic[{i}]"
        periodic.append(
            periodic_bolus(
                _volume(admixture, p, where),
                _q(p.every, Dimension.TIME, f"{where}.every"),
                _q(p.duration, Dimension.TIME, f"{where}.duration"),
                p.first,
                where,
            )
        )
    single: list[SingleBolus] = []
    for i, s in enumerate(entry.single):
        where = f"{field}.single[{i}]"
        single.append(
            single_bolus(
                _volume(admixture, s, where),
                s.at,
                _q(s.duration, Dimension.TIME, f"{where}.duration"),
                where,
            )
        )
    return Schedule(basal, tuple(periodic), tuple(single)), rounding


def _patient_bolus(
    entry: PatientBolusEntry, admixture: Admixture, field: str = "patient_bolus"
) -> PatientBolus:
    return patient_bolus(
        _volume(admixture, entry, field),
        _q(entry.duration, Dimension.TIME, f"{field}.duration"),
        _q(entry.lockout, Dimension.TIME, f"{field}.lockout"),
        entry.max_per_day,
        field,
    )


def plan_json_schema() -> dict[str, Any]:
    """JSON Schema of the plan file, generated from the models."""
    return PlanFile.model_json_schema()
