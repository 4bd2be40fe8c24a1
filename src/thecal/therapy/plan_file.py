"""The plan file's shape: the DTO a TOML plan file, a form or the clinic's store reads and
writes — pydantic, its JSON Schema documents the format (``thecal plan schema``).

Quantities here are text with units (``"10 mg/mL"``) checked for dimension while parsing, so
an error names the field. The services never work on this form: :meth:`PlanFile.to_typed`
gives the typed plan (:mod:`thecal.therapy.plan_model`, pint quantities) that
:func:`thecal.therapy.plan.resolve` takes; :meth:`PlanFile.from_typed` writes a typed plan back
as text (the conversions: :mod:`thecal.therapy.plan_file_typed`). It lives in the core, not in
``adapters``, because the clinic (a lower layer) stores prescriptions in this form.
"""

from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from thecal.therapy import plan_model as tm
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

    def to_typed(self, where: str = "patient") -> "tm.PatientFacts":
        return tm.PatientFacts(
            opioid_naive=self.opioid_naive,
            spasticity_origin=self.spasticity_origin,
            cancer_pain=self.cancer_pain,
            where=where,
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

    # The conversions live in plan_file_typed (it imports these models: imported when called).
    def to_typed(self) -> "tm.Plan":
        """The typed plan (quantities parsed once; errors name the file's keys)."""
        from thecal.therapy.plan_file_typed import to_typed

        return to_typed(self)

    @classmethod
    def from_typed(cls, plan: "tm.Plan") -> "PlanFile":
        """``plan`` as file text: each quantity written exactly, so ``to_typed`` gives it back."""
        from thecal.therapy.plan_file_typed import from_typed

        return from_typed(plan)


def plan_json_schema() -> dict[str, Any]:
    """JSON Schema of the plan file, generated from the models."""
    return PlanFile.model_json_schema()
