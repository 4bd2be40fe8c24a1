"""The plan file's shape: the DTO a TOML plan file, a form or the clinic's store reads and
writes — pydantic, its JSON Schema documents the format (``thecal plan schema``).

Quantities here are text with units (``"10 mg/mL"``) checked for dimension while parsing, so
an error names the field. The services never work on this form: :meth:`PlanFile.to_typed`
gives the typed plan (:mod:`thecal.therapy.plan_model`, pint quantities) that
:func:`thecal.therapy.plan.resolve` takes, and :meth:`PlanFile.from_typed` writes a typed plan
back as text — the one place a plan's quantity is formatted (:func:`thecal.units.format.exact`).
It lives in the core, not in ``adapters``, because the clinic stores prescriptions in this form.
"""

from collections.abc import Sequence
from datetime import datetime, time
from typing import Annotated, Any, Literal

import pint
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from thecal.therapy import plan_model as tm
from thecal.units import Dimension, InputError, parse_quantity
from thecal.units.format import exact


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

    def to_typed(self, where: str = "patient") -> tm.PatientFacts:
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

    def to_typed(self) -> tm.Plan:
        """The typed plan (quantities parsed once; errors name the file's keys)."""
        return _typed(self)

    @classmethod
    def from_typed(cls, plan: tm.Plan) -> "PlanFile":
        """``plan`` as file text: each quantity written exactly, so ``to_typed`` gives it back."""
        return _from_typed(plan)


# --- DTO <-> typed plan ------------------------------------------------------------------------
# The text was checked by the validators above; parsing it again names the file's key on error.


def _q(text: str, where: str, dim: Dimension) -> pint.Quantity:
    return parse_quantity(text, where, dim)


def _oq(text: str | None, where: str, dim: Dimension) -> pint.Quantity | None:
    return None if text is None else parse_quantity(text, where, dim)


def _t(q: pint.Quantity | None) -> str | None:
    return None if q is None else exact(q)


def typed_ingredients(entries: Sequence[IngredientEntry], where: str) -> tuple[tm.Ingredient, ...]:
    """The admixture entries as typed ingredients; errors name ``where[i]``."""
    return tuple(
        tm.Ingredient(
            drug=e.drug,
            concentration=_q(e.concentration, f"{where}[{i}].concentration", C),
            where=f"{where}[{i}]",
        )
        for i, e in enumerate(entries)
    )


def typed_schedule(e: ScheduleEntry, where: str = "schedule") -> tm.ScheduleSettings:
    steps = tuple(
        tm.FlexStep(
            start=s.start,
            rate=_oq(s.rate, f"{where}.steps[{i}].rate", Dimension.FLOW_RATE),
            dose=_oq(s.dose, f"{where}.steps[{i}].dose", Dimension.DOSE_RATE),
            days=tuple(s.days) if s.days is not None else None,
            where=f"{where}.steps[{i}]",
        )
        for i, s in enumerate(e.steps)
    )
    periodic = tuple(
        tm.PeriodicDose(
            every=_q(p.every, f"{where}.periodic[{i}].every", T),
            duration=_q(p.duration, f"{where}.periodic[{i}].duration", T),
            first=p.first,
            **_amount(p, f"{where}.periodic[{i}]"),
        )
        for i, p in enumerate(e.periodic)
    )
    single = tuple(
        tm.SingleDose(
            at=s.at,
            duration=_q(s.duration, f"{where}.single[{i}].duration", T),
            **_amount(s, f"{where}.single[{i}]"),
        )
        for i, s in enumerate(e.single)
    )
    return tm.ScheduleSettings(
        mode=e.mode,
        rate=_oq(e.rate, f"{where}.rate", Dimension.FLOW_RATE),
        dose=_oq(e.dose, f"{where}.dose", Dimension.DOSE_RATE),
        drug=e.drug,
        steps=steps,
        periodic=periodic,
        single=single,
        where=where,
    )


def _amount(a: Amount, where: str) -> dict[str, Any]:
    return {
        "volume": _oq(a.volume, f"{where}.volume", V),
        "dose": _oq(a.dose, f"{where}.dose", Dimension.MASS),
        "drug": a.drug,
        "where": where,
    }


def typed_patient_bolus(
    e: PatientBolusEntry, where: str = "patient_bolus"
) -> tm.PatientBolusSettings:
    return tm.PatientBolusSettings(
        duration=_q(e.duration, f"{where}.duration", T),
        lockout=_q(e.lockout, f"{where}.lockout", T),
        max_per_day=e.max_per_day,
        **_amount(e, where),
    )


def typed_fill(e: FillEntry, where: str = "fill") -> tm.FillSettings:
    return tm.FillSettings(
        volume=_q(e.volume, f"{where}.volume", V), at=e.at, first_fill=e.first_fill, where=where
    )


def _typed(p: "PlanFile") -> tm.Plan:
    entered = {n: _oq(getattr(p.pump, n), f"pump.{n}", d) for n, d in tm.PUMP_QUANTITIES}
    pump = tm.PumpSettings(model=p.pump.model, **entered)  # type: ignore[arg-type]
    c = p.catheter
    catheter = (
        tm.CatheterSettings(
            model=c.model,
            volume=_oq(c.volume, "catheter.volume", V),
            length=_oq(c.length, "catheter.length", L),
            volume_per_length=_oq(
                c.volume_per_length, "catheter.volume_per_length", Dimension.VOLUME_PER_LENGTH
            ),
        )
        if c
        else None
    )
    prev = p.previous
    previous = (
        tm.PreviousSettings(
            started=prev.started,
            schedule=typed_schedule(prev.schedule, "previous.schedule"),
            admixture=(
                typed_ingredients(prev.admixture, "previous.admixture") if prev.admixture else None
            ),
            patient_bolus=(
                typed_patient_bolus(prev.patient_bolus, "previous.patient_bolus")
                if prev.patient_bolus
                else None
            ),
            earlier_increases=tuple(prev.earlier_increases),
        )
        if prev
        else None
    )
    i = p.interruption
    r = p.refill
    refill = (
        tm.RefillSettings(
            last_fill=typed_fill(r.last_fill, "refill.last_fill"),
            withdrawn=_q(r.withdrawn, "refill.withdrawn", V),
            filled=_oq(r.filled, "refill.filled", V),
            confirmed_after_fill=_oq(r.confirmed_after_fill, "refill.confirmed_after_fill", V),
            reported_boluses=tuple(
                tm.ReportedBolusSettings(
                    at=b.at,
                    volume=_q(b.volume, f"refill.reported_boluses[{n}].volume", V),
                    where=f"refill.reported_boluses[{n}]",
                )
                for n, b in enumerate(r.reported_boluses)
            ),
        )
        if r
        else None
    )
    pr = p.priming
    priming = (
        tm.PrimingSettings(
            new_catheter_length=_oq(pr.new_catheter_length, "priming.new_catheter_length", L),
            catheter_volume=_oq(pr.catheter_volume, "priming.catheter_volume", V),
            include_pump_tubing=pr.include_pump_tubing,
        )
        if pr
        else None
    )
    return tm.Plan(
        title=p.title,
        at=p.at,
        start=p.start,
        patient=p.patient.to_typed(),
        pump=pump,
        catheter=catheter,
        admixture=typed_ingredients(p.admixture, "admixture"),
        schedule=typed_schedule(p.schedule),
        patient_bolus=typed_patient_bolus(p.patient_bolus) if p.patient_bolus else None,
        fill=typed_fill(p.fill) if p.fill else None,
        next_refill=p.next_refill,
        previous=previous,
        interruption=tm.InterruptionSettings(start=i.start, end=i.end, cause=i.cause)
        if i
        else None,
        refill=refill,
        priming=priming,
    )


# Typed -> text: every quantity goes through exact() once, here.


def ingredient_entries(items: Sequence[tm.Ingredient]) -> list[IngredientEntry]:
    return [IngredientEntry(drug=i.drug, concentration=exact(i.concentration)) for i in items]


def schedule_entry(s: tm.ScheduleSettings) -> ScheduleEntry:
    return ScheduleEntry(
        mode=s.mode,
        rate=_t(s.rate),
        dose=_t(s.dose),
        drug=s.drug,
        steps=[
            StepEntry(
                start=x.start,
                rate=_t(x.rate),
                dose=_t(x.dose),
                days=list(x.days) if x.days is not None else None,
            )
            for x in s.steps
        ],
        periodic=[
            PeriodicEntry(
                every=exact(x.every), duration=exact(x.duration), first=x.first, **_amount_text(x)
            )
            for x in s.periodic
        ],
        single=[
            SingleEntry(at=x.at, duration=exact(x.duration), **_amount_text(x)) for x in s.single
        ],
    )


def _amount_text(a: tm.PeriodicDose | tm.SingleDose | tm.PatientBolusSettings) -> dict[str, Any]:
    return {"volume": _t(a.volume), "dose": _t(a.dose), "drug": a.drug}


def patient_bolus_entry(b: tm.PatientBolusSettings) -> PatientBolusEntry:
    return PatientBolusEntry(
        duration=exact(b.duration),
        lockout=exact(b.lockout),
        max_per_day=b.max_per_day,
        **_amount_text(b),
    )


def fill_entry(f: tm.FillSettings) -> FillEntry:
    return FillEntry(volume=exact(f.volume), at=f.at, first_fill=f.first_fill)


def _from_typed(p: tm.Plan) -> "PlanFile":
    c, prev, i, r, pr = p.catheter, p.previous, p.interruption, p.refill, p.priming
    return PlanFile(
        title=p.title,
        at=p.at,
        start=p.start,
        patient=PatientSpec(
            opioid_naive=p.patient.opioid_naive,
            spasticity_origin=p.patient.spasticity_origin,
            cancer_pain=p.patient.cancer_pain,
        ),
        pump=PumpEntry(
            model=p.pump.model,
            **{name: _t(getattr(p.pump, name)) for name, _ in tm.PUMP_QUANTITIES},
        ),
        catheter=(
            CatheterEntry(
                model=c.model,
                volume=_t(c.volume),
                length=_t(c.length),
                volume_per_length=_t(c.volume_per_length),
            )
            if c
            else None
        ),
        admixture=ingredient_entries(p.admixture),
        schedule=schedule_entry(p.schedule),
        patient_bolus=patient_bolus_entry(p.patient_bolus) if p.patient_bolus else None,
        fill=fill_entry(p.fill) if p.fill else None,
        next_refill=p.next_refill,
        previous=(
            PreviousEntry(
                started=prev.started,
                admixture=ingredient_entries(prev.admixture) if prev.admixture else None,
                schedule=schedule_entry(prev.schedule),
                patient_bolus=patient_bolus_entry(prev.patient_bolus)
                if prev.patient_bolus
                else None,
                earlier_increases=list(prev.earlier_increases),
            )
            if prev
            else None
        ),
        interruption=InterruptionEntry(start=i.start, end=i.end, cause=i.cause) if i else None,
        refill=(
            RefillEntry(
                last_fill=fill_entry(r.last_fill),
                withdrawn=exact(r.withdrawn),
                filled=_t(r.filled),
                confirmed_after_fill=_t(r.confirmed_after_fill),
                reported_boluses=[
                    ReportedBolusEntry(at=b.at, volume=exact(b.volume)) for b in r.reported_boluses
                ],
            )
            if r
            else None
        ),
        priming=(
            PrimingEntry(
                new_catheter_length=_t(pr.new_catheter_length),
                catheter_volume=_t(pr.catheter_volume),
                include_pump_tubing=pr.include_pump_tubing,
            )
            if pr
            else None
        ),
    )


def plan_json_schema() -> dict[str, Any]:
    """JSON Schema of the plan file, generated from the models."""
    return PlanFile.model_json_schema()
