"""A drug pump's program on the wire (pure): drugs by name, every quantity UCUM, strict both
ways. Firmware limits are not checked here: the firmware checks a program when it is written."""

from collections.abc import Callable
from datetime import time
from typing import Any

from thecal.devices.pump import Program
from thecal.programmer.commands import (
    CommandError,
    Qty,
    quantity_from_json,
    quantity_json,
    time_from_json,
)
from thecal.programmer.wire_read import read_int, read_list, read_obj, read_str
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.drugs import Drug
from thecal.therapy.schedule import (
    BasalProgram,
    DayProgram,
    FlexStep,
    PatientBolus,
    PeriodicBolus,
    Schedule,
    SingleBolus,
)
from thecal.units import InputError


def program_to_json(p: Program) -> dict[str, Any]:
    """A program as JSON (drugs by name, every quantity UCUM)."""
    s = p.schedule
    return {
        "admixture": [
            {"drug": i.drug.name, "concentration": quantity_json(i.concentration)}
            for i in p.admixture.ingredients
        ],
        "basal": [
            [[st.start.isoformat(), quantity_json(st.rate)] for st in day.steps]
            for day in s.basal.days
        ],
        "periodic": [
            {
                "volume": quantity_json(b.volume),
                "every": quantity_json(b.every),
                "duration": quantity_json(b.duration),
                "first": b.first.isoformat(),
            }
            for b in s.periodic
        ],
        "single": [
            {
                "volume": quantity_json(b.volume),
                "at": b.at.isoformat(),
                "duration": quantity_json(b.duration),
            }
            for b in s.single
        ],
        "low_reservoir_threshold": quantity_json(p.low_reservoir_threshold),
        "patient_bolus": None
        if p.patient_bolus is None
        else {
            "volume": quantity_json(p.patient_bolus.volume),
            "duration": quantity_json(p.patient_bolus.duration),
            "lockout": quantity_json(p.patient_bolus.lockout),
            "max_per_day": p.patient_bolus.max_per_day,
        },
    }


DrugLookup = Callable[[str], Drug]


def program_from_json(value: Any, drugs: DrugLookup, field: str = "program") -> Program:
    """Strict inverse of :func:`program_to_json`. ``drugs`` resolves a drug name (the implant's
    provisioned library); an unknown drug raises :class:`CommandError`. Firmware limits are
    not checked here (the firmware does that when the program is written)."""
    d = read_obj(value, field)
    keys = {"admixture", "basal", "periodic", "single", "low_reservoir_threshold", "patient_bolus"}
    if set(d) != keys:
        raise CommandError(field, f"expected keys {sorted(keys)}")
    ingredients: list[tuple[Drug, Qty]] = []
    for i, ing in enumerate(read_list(d["admixture"], f"{field}.admixture")):
        where = f"{field}.admixture[{i}]"
        ing = read_obj(ing, where)
        try:
            drug = drugs(read_str(ing.get("drug"), where + ".drug"))
        except (InputError, KeyError) as exc:
            raise CommandError(where + ".drug", str(exc)) from None
        ingredients.append((drug, quantity_from_json(ing.get("concentration"), where + ".conc")))
    try:
        admixture: Admixture = make_admixture(ingredients, f"{field}.admixture")
    except InputError as exc:
        raise CommandError(exc.field, exc.message) from None
    days: list[DayProgram] = []
    basal = read_list(d["basal"], f"{field}.basal")
    if len(basal) != 7:
        raise CommandError(f"{field}.basal", "expected 7 day programs, Monday first")
    for di, day in enumerate(basal):
        steps: list[FlexStep] = []
        for si, step in enumerate(read_list(day, f"{field}.basal[{di}]")):
            where = f"{field}.basal[{di}][{si}]"
            pair = read_list(step, where)
            if len(pair) != 2:
                raise CommandError(where, "expected [start, rate]")
            try:
                start = time.fromisoformat(read_str(pair[0], where))
            except ValueError:
                raise CommandError(where, "start must be HH:MM[:SS]") from None
            steps.append(FlexStep(start, quantity_from_json(pair[1], where + ".rate")))
        if not steps:
            raise CommandError(f"{field}.basal[{di}]", "a day needs at least one step")
        days.append(DayProgram(tuple(steps)))
    periodic = tuple(
        PeriodicBolus(
            quantity_from_json(read_obj(b, f"{field}.periodic[{i}]").get("volume"), "volume"),
            quantity_from_json(b.get("every"), f"{field}.periodic[{i}].every"),
            quantity_from_json(b.get("duration"), f"{field}.periodic[{i}].duration"),
            time_from_json(b.get("first"), f"{field}.periodic[{i}].first"),
        )
        for i, b in enumerate(read_list(d["periodic"], f"{field}.periodic"))
    )
    single = tuple(
        SingleBolus(
            quantity_from_json(read_obj(b, f"{field}.single[{i}]").get("volume"), "volume"),
            time_from_json(b.get("at"), f"{field}.single[{i}].at"),
            quantity_from_json(b.get("duration"), f"{field}.single[{i}].duration"),
        )
        for i, b in enumerate(read_list(d["single"], f"{field}.single"))
    )
    ptb = None
    if d["patient_bolus"] is not None:
        b = read_obj(d["patient_bolus"], f"{field}.patient_bolus")
        ptb = PatientBolus(
            quantity_from_json(b.get("volume"), f"{field}.patient_bolus.volume"),
            quantity_from_json(b.get("duration"), f"{field}.patient_bolus.duration"),
            quantity_from_json(b.get("lockout"), f"{field}.patient_bolus.lockout"),
            read_int(b.get("max_per_day"), f"{field}.patient_bolus.max_per_day"),
        )
    threshold = quantity_from_json(d["low_reservoir_threshold"], f"{field}.low_reservoir_threshold")
    return Program(Schedule(BasalProgram(tuple(days)), periodic, single), admixture, threshold, ptb)


__all__ = ["DrugLookup", "program_from_json", "program_to_json"]
