"""The plan file DTO <-> the typed plan: the text of :mod:`thecal.therapy.plan_file` parsed
into :mod:`thecal.therapy.plan_model` quantities (errors name the file's keys), and a typed plan
written back as text — each quantity formatted once, exactly, by
:func:`thecal.units.format.exact`, here and nowhere else in the services.
"""

from collections.abc import Sequence
from typing import Any

import pint

from thecal.therapy import plan_model as tm
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
)
from thecal.units import Dimension, parse_quantity
from thecal.units.format import exact

V, T, L, C = Dimension.VOLUME, Dimension.TIME, Dimension.LENGTH, Dimension.CONCENTRATION

# The text was checked by the DTO's validators; parsing it again names the file's key on error.


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


def to_typed(p: PlanFile) -> tm.Plan:
    """``p`` as a typed plan (:meth:`PlanFile.to_typed`)."""
    pe = p.pump
    pump = tm.PumpSettings(
        model=pe.model,
        reservoir=_oq(pe.reservoir, "pump.reservoir", V),
        internal_volume=_oq(pe.internal_volume, "pump.internal_volume", V),
        rate_resolution=_oq(pe.rate_resolution, "pump.rate_resolution", Dimension.FLOW_RATE),
        low_reservoir_alarm=_oq(pe.low_reservoir_alarm, "pump.low_reservoir_alarm", V),
        max_rate=_oq(pe.max_rate, "pump.max_rate", Dimension.FLOW_RATE),
    )
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


def from_typed(p: tm.Plan) -> PlanFile:
    """``p`` as file text (:meth:`PlanFile.from_typed`)."""
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
