"""Resolving a plan: the typed plan (:mod:`thecal.therapy.plan_model`, pint quantities) turned
into core objects — pump and catheter from the catalog, admixture, schedule, proposals — for the
safety gate and the calculators.

The file's text form is :mod:`thecal.therapy.plan_file` (``PlanFile.to_typed()``); nothing here
reads or writes text.
"""

from dataclasses import replace
from datetime import time
from typing import Any

import pint

from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.delivery import ReportedBolus
from thecal.therapy.device_limits import round_basal
from thecal.therapy.findings import Finding
from thecal.therapy.library import DrugLibrary

# The file DTO moved to plan_file (issue 11); its names stay importable from here.
from thecal.therapy.plan_file import (
    Amount,
    CatheterEntry,
    FillEntry,
    IngredientEntry,
    InterruptionEntry,
    PatientBolusEntry,
    PatientSpec,
    PeriodicEntry,
    PlanFile,
    PreviousEntry,
    PrimingEntry,
    PumpEntry,
    RefillEntry,
    ReportedBolusEntry,
    ScheduleEntry,
    SingleEntry,
    StepEntry,
    plan_json_schema,
)
from thecal.therapy.plan_model import (
    FillSettings,
    Ingredient,
    PatientBolusSettings,
    PeriodicDose,
    Plan,
    PumpSettings,
    ScheduleSettings,
    SingleDose,
)
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
from thecal.units import InputError

__all__ = [
    "Amount",
    "CatheterEntry",
    "FillEntry",
    "IngredientEntry",
    "InterruptionEntry",
    "PatientBolusEntry",
    "PatientSpec",
    "PeriodicEntry",
    "PlanFile",
    "PreviousEntry",
    "PrimingEntry",
    "PumpEntry",
    "RefillEntry",
    "ReportedBolusEntry",
    "ResolvedPlan",
    "ScheduleEntry",
    "SingleEntry",
    "StepEntry",
    "plan_json_schema",
    "resolve",
]

_Amount = PeriodicDose | SingleDose | PatientBolusSettings


class ResolvedPlan:
    """A plan as core objects, ready for the gate and the calculators."""

    def __init__(
        self,
        plan: Plan,
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
        return alarm

    @property
    def refill_proposal(self) -> RefillProposal | None:
        fill = self.fill
        if fill is None:
            return None
        reported = tuple(
            ReportedBolus(r.at, r.volume)
            for r in (self.plan.refill.reported_boluses if self.plan.refill else [])
        )
        r = self.plan.refill
        return RefillProposal(
            self.program,
            fill,
            self.plan.next_refill,
            self.alarm_threshold,
            reported,
            last_fill=_fill(r.last_fill) if r else None,
            withdrawn=r.withdrawn if r else None,
            filled=r.filled if r else None,
            confirmed_after_fill=r.confirmed_after_fill if r else None,
        )

    def catheter_volume(self) -> pint.Quantity | None:
        """Entered catheter volume, or implanted length × volume per length (entered or from
        the catalog). None when neither is known."""
        c = self.plan.catheter
        if c is None:
            return None
        if c.volume is not None:
            return c.volume
        if c.length is None:
            return None
        per = (
            c.volume_per_length
            if c.volume_per_length is not None
            else (self.catheter.volume_per_length if self.catheter else None)
        )
        if per is None:
            raise InputError(
                "catheter.volume_per_length",
                "is not public for this catheter and was not entered",
                "the volume per cm from the catheter labelling, e.g. '0.0026 mL/cm'",
            )
        return (c.length * per).to("mL")


def resolve(plan: Plan, library: DrugLibrary, pumps: Any) -> ResolvedPlan:
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
    i = plan.interruption  # its end is after its start (checked when it was built)
    interruption = Interruption(i.start, i.end, i.cause) if i else None
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


def _fill(f: FillSettings) -> Fill:
    return Fill(f.volume.to("mL"), f.at, f.first_fill)


def _pump_with_entries(spec: PumpSpec, entry: PumpSettings) -> PumpSpec:
    changes: dict[str, Any] = {}
    sources = dict(spec.sources)
    for name in (
        "reservoir",
        "internal_volume",
        "rate_resolution",
        "low_reservoir_alarm",
        "max_rate",
    ):
        value = getattr(entry, name)
        if value is not None:
            changes[name] = value
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


def _admixture(entries: tuple[Ingredient, ...], library: DrugLibrary, field: str) -> Admixture:
    pairs = [
        (library.get(e.drug, f"{field}[{i}].drug"), e.concentration) for i, e in enumerate(entries)
    ]
    return make_admixture(pairs, field, library.settings.max_admixture_drugs)


def _flow(
    admixture: Admixture,
    rate: pint.Quantity | None,
    dose: pint.Quantity | None,
    drug: str | None,
    field: str,
) -> pint.Quantity:
    if rate is not None:
        return rate.to("mL/d")
    assert dose is not None
    name = drug or admixture.drug_names[0]
    return admixture.flow_for(name, dose, f"{field}.dose")


def _volume(admixture: Admixture, amount: _Amount, field: str) -> pint.Quantity:
    if amount.volume is not None:
        return amount.volume.to("mL")
    assert amount.dose is not None
    name = amount.drug or admixture.drug_names[0]
    return admixture.volume_for(name, amount.dose, f"{field}.dose")


def _schedule(
    entry: ScheduleSettings, admixture: Admixture, pump: PumpSpec, field: str, max_steps: int
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
                p.every,
                p.duration,
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
                s.duration,
                where,
            )
        )
    return Schedule(basal, tuple(periodic), tuple(single)), rounding


def _patient_bolus(
    entry: PatientBolusSettings, admixture: Admixture, field: str = "patient_bolus"
) -> PatientBolus:
    return patient_bolus(
        _volume(admixture, entry, field),
        entry.duration,
        entry.lockout,
        entry.max_per_day,
        field,
    )
