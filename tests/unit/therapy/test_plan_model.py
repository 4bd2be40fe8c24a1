"""The typed plan (thecal.therapy.plan_model) and its file DTO (thecal.therapy.plan_file):
a plan built from quantities resolves exactly as the same plan written as a file; the DTO
round-trips through the typed form; constructors refuse bad values naming the field."""

import math
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.adapters.plan_files import load_plan, parse_plan
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan, resolve
from thecal.therapy.plan_file import PlanFile
from thecal.therapy.plan_model import (
    FillSettings,
    FlexStep,
    Ingredient,
    InterruptionSettings,
    PatientBolusSettings,
    PatientFacts,
    PeriodicDose,
    Plan,
    PreviousSettings,
    PumpSettings,
    RefillSettings,
    ReportedBolusSettings,
    ScheduleSettings,
    quantity,
)
from thecal.units import Q_, Dimension, InputError

EXAMPLES = Path(__file__).parents[3] / "examples"
SHIPPED = Path(__file__).parents[3] / "src/thecal/data/examples"
FAST = settings(max_examples=60, deadline=None)
AT = datetime(2024, 3, 2, 9, 0)
PUMP = "SynchroMed II 8637-20"

# Magnitudes around the clinical range and beyond it (the gate judges those; resolve must
# agree either way, result or error). Written with repr, a float reads back exactly.
magnitudes = st.floats(min_value=1e-6, max_value=1e4, allow_nan=False, allow_infinity=False)


def _outcome(build: Any, library: DrugLibrary, catalog: DeviceCatalog) -> Any:
    """What resolving gives: the core objects, or the error's field and message."""
    try:
        r: ResolvedPlan = resolve(build(), library, catalog)
    except InputError as exc:
        return ("error", exc.field, exc.message)
    return (
        r.program, r.pump, r.catheter, r.admixture, r.rounding, r.fill, r.alarm_threshold,
        r.refill_proposal,
    )  # fmt: skip


@FAST
@given(
    conc=magnitudes,
    rate=magnitudes,
    by_dose=st.booleans(),
    bolus=st.one_of(st.none(), magnitudes),
    lockout_h=st.integers(min_value=0, max_value=48),
    max_per_day=st.integers(min_value=1, max_value=24),
    fill=magnitudes,
    withdrawn=magnitudes,
    alarm=st.one_of(st.none(), magnitudes),
    days_since=st.integers(min_value=1, max_value=120),
)
def test_typed_plan_resolves_as_the_same_file(
    library: DrugLibrary,
    catalog: DeviceCatalog,
    conc: float,
    rate: float,
    by_dose: bool,
    bolus: float | None,
    lockout_h: int,
    max_per_day: int,
    fill: float,
    withdrawn: float,
    alarm: float | None,
    days_since: int,
) -> None:
    last = AT - timedelta(days=days_since)

    def typed() -> Plan:
        return Plan(
            at=AT,
            start=False,
            patient=PatientFacts(opioid_naive=False),
            pump=PumpSettings(
                model=PUMP, low_reservoir_alarm=None if alarm is None else Q_(alarm, "mL")
            ),
            admixture=(Ingredient(drug="morphine", concentration=Q_(conc, "mg/mL")),),
            schedule=(
                ScheduleSettings(dose=Q_(rate, "mg/d"))
                if by_dose
                else ScheduleSettings(rate=Q_(rate, "mL/d"))
            ),
            patient_bolus=(
                None
                if bolus is None
                else PatientBolusSettings(
                    volume=Q_(bolus, "mL"),
                    duration=Q_(10, "min"),
                    lockout=Q_(lockout_h, "h"),
                    max_per_day=max_per_day,
                )
            ),
            fill=FillSettings(volume=Q_(fill, "mL"), at=AT),
            refill=RefillSettings(
                last_fill=FillSettings(volume=Q_(fill, "mL"), at=last),
                withdrawn=Q_(withdrawn, "mL"),
                filled=Q_(fill, "mL"),
                reported_boluses=(ReportedBolusSettings(at=last, volume=Q_(0.1, "mL")),),
            ),
        )

    def from_file() -> Plan:
        doc: dict[str, Any] = {
            "at": AT,
            "start": False,
            "patient": {"opioid_naive": False},
            "pump": {"model": PUMP},
            "admixture": [{"drug": "morphine", "concentration": f"{conc!r} mg/mL"}],
            "schedule": {"dose": f"{rate!r} mg/d"} if by_dose else {"rate": f"{rate!r} mL/d"},
            "fill": {"volume": f"{fill!r} mL", "at": AT},
            "refill": {
                "last_fill": {"volume": f"{fill!r} mL", "at": last},
                "withdrawn": f"{withdrawn!r} mL",
                "filled": f"{fill!r} mL",
                "reported_boluses": [{"at": last, "volume": "0.1 mL"}],
            },
        }
        if alarm is not None:
            doc["pump"]["low_reservoir_alarm"] = f"{alarm!r} mL"
        if bolus is not None:
            doc["patient_bolus"] = {
                "volume": f"{bolus!r} mL", "duration": "10 min",
                "lockout": f"{lockout_h} h", "max_per_day": max_per_day,
            }  # fmt: skip
        return parse_plan(doc).to_typed()

    assert typed() == from_file()
    assert _outcome(typed, library, catalog) == _outcome(from_file, library, catalog)


@FAST
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 23), magnitudes, st.booleans()),
        min_size=1,
        max_size=4,
        unique_by=lambda s: s[0],
    ),
    every_h=st.integers(min_value=1, max_value=48),
    bolus_mcg=magnitudes,
    prev_rate=magnitudes,
    gap_h=st.integers(min_value=1, max_value=72),
)
def test_flex_previous_and_interruption_resolve_as_the_same_file(
    library: DrugLibrary,
    catalog: DeviceCatalog,
    steps: list[tuple[int, float, bool]],
    every_h: int,
    bolus_mcg: float,
    prev_rate: float,
    gap_h: int,
) -> None:
    # Flex steps by rate (mL/h) or daily dose (mcg/d), a periodic bolus by dose (mcg), the
    # program before (by rate, mL/d) and an interruption ending at `at`.
    started, stop = AT - timedelta(days=30), AT - timedelta(hours=gap_h)
    # A day program starts at 00:00 (else both forms give the same error, which tests less).
    steps = [(0, *steps[0][1:]), *(s for s in steps[1:] if s[0] != 0)]

    def typed() -> Plan:
        flex = tuple(
            FlexStep(start=time(h), **({"dose": Q_(v, "mcg/d")} if d else {"rate": Q_(v, "mL/h")}))
            for h, v, d in steps
        )
        return Plan(
            at=AT,
            pump=PumpSettings(model=PUMP),
            admixture=(Ingredient(drug="baclofen", concentration=Q_(500, "mcg/mL")),),
            schedule=ScheduleSettings(
                mode="flex",
                steps=flex,
                periodic=(
                    PeriodicDose(
                        dose=Q_(bolus_mcg, "mcg"),
                        every=Q_(every_h, "h"),
                        duration=Q_(15, "min"),
                        first=AT,
                    ),
                ),
            ),
            previous=PreviousSettings(
                started=started, schedule=ScheduleSettings(rate=Q_(prev_rate, "mL/d"))
            ),
            interruption=InterruptionSettings(start=stop, end=AT),
        )

    def from_file() -> Plan:
        doc: dict[str, Any] = {
            "at": AT,
            "pump": {"model": PUMP},
            "admixture": [{"drug": "baclofen", "concentration": "500 mcg/mL"}],
            "schedule": {
                "mode": "flex",
                "steps": [
                    {"start": f"{h:02d}:00", **({"dose": f"{v!r} mcg/d"} if d else {
                        "rate": f"{v!r} mL/h"})}
                    for h, v, d in steps
                ],
                "periodic": [{"dose": f"{bolus_mcg!r} mcg", "every": f"{every_h} h",
                              "duration": "15 min", "first": AT}],
            },
            "previous": {"started": started, "schedule": {"rate": f"{prev_rate!r} mL/d"}},
            "interruption": {"start": stop, "end": AT},
        }  # fmt: skip
        return parse_plan(doc).to_typed()

    assert typed() == from_file()
    assert _outcome(typed, library, catalog) == _outcome(from_file, library, catalog)


def _examples() -> list[Path]:
    return sorted([*EXAMPLES.glob("*.toml"), *SHIPPED.glob("*.toml")])


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.name)
def test_every_example_round_trips_dto_typed_dto(
    path: Path, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    dto = load_plan(path)
    typed = dto.to_typed()
    again = PlanFile.from_typed(typed)
    assert again.to_typed() == typed
    # Written once more, the text is stable (a fixed point after the first formatting).
    assert PlanFile.from_typed(again.to_typed()) == again
    assert PlanFile.model_validate_json(again.model_dump_json(exclude_none=True)) == again
    try:
        before = _outcome(lambda: typed, library, catalog)
    except InputError:  # pragma: no cover - every example resolves
        raise
    assert _outcome(again.to_typed, library, catalog) == before


@FAST
@given(
    volume=magnitudes,
    conc=magnitudes,
    unit=st.sampled_from(["mL", "uL"]),
    steps=st.lists(
        st.tuples(st.integers(0, 23), magnitudes, st.sampled_from(["mL/d", "mL/h", "uL/h"])),
        min_size=1,
        max_size=4,
        unique_by=lambda s: s[0],
    ),
)
def test_canonical_text_round_trips_exactly(
    volume: float, conc: float, unit: str, steps: list[tuple[int, float, str]]
) -> None:
    # Text written as from_typed writes it (repr of a float, the first accepted spelling)
    # comes back character for character.
    dto = PlanFile.model_validate({
        "at": AT,
        "pump": {"model": PUMP, "low_reservoir_alarm": f"{volume!r} {unit}"},
        "admixture": [{"drug": "baclofen", "concentration": f"{conc!r} mcg/mL"}],
        "schedule": {
            "mode": "flex",
            "steps": [{"start": f"{h:02d}:00", "rate": f"{r!r} {u}"} for h, r, u in steps],
        },
        "fill": {"volume": f"{volume!r} mL", "at": AT, "first_fill": True},
    })  # fmt: skip
    assert PlanFile.from_typed(dto.to_typed()) == dto


def test_units_without_a_file_spelling_are_written_in_the_usual_unit() -> None:
    plan = Plan(
        at=AT,
        pump=PumpSettings(model=PUMP, reservoir=Q_(0.02, "L")),
        admixture=(Ingredient(drug="morphine", concentration=Q_(10, "g/L")),),
        schedule=ScheduleSettings(rate=Q_(1, "L/week")),
    )
    dto = PlanFile.from_typed(plan)
    # 0.02 L = 20 mL; 10 g/L = 10 mg/mL; 1 L/week = 1000/7 mL/d (rounded once by the float).
    assert dto.pump.reservoir == "20.0 mL"
    assert dto.admixture[0].concentration == "10.0 mg/mL"
    assert dto.schedule.rate == f"{1000 / 7!r} mL/d"
    back = dto.to_typed()
    assert math.isclose(back.schedule.rate.to("mL/d").m, Q_(1, "L/week").to("mL/d").m)


# --- constructors refuse what a file's parser refuses, naming the field ------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Q_(math.nan, "mL"), "not a finite number"),
        (Q_(math.inf, "mL"), "not a finite number"),
        (Q_(-1, "mL"), "negative"),
        (Q_(2, "mg"), "not volume"),
        ("2 mL", "not a quantity"),
        (2.0, "not a quantity"),
        (Q_(1.0000001e20, "mL"), "outside"),
        (Q_(9.9e-21, "mL"), "outside"),
    ],
)
def test_a_bad_volume_is_refused_by_name(value: Any, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        FillSettings(volume=value, at=AT, where="refill.last_fill")
    assert err.value.field == "refill.last_fill.volume"


@pytest.mark.parametrize("magnitude", [0.0, 1e-20, 1e20])
def test_the_magnitude_window_edges_are_accepted(magnitude: float) -> None:
    # Both ends included, as for text: "1e-20 mL" and "1e+20 mL" parse; zero is "none".
    assert quantity(Q_(magnitude, "mL"), "v", Dimension.VOLUME).m == magnitude
    assert FillSettings(volume=Q_(magnitude, "mL"), at=AT).volume.m == magnitude


def test_shape_rules_are_checked_with_the_field() -> None:
    with pytest.raises(InputError, match="exactly one of 'rate' or 'dose'") as e1:
        ScheduleSettings(rate=Q_(1, "mL/d"), dose=Q_(1, "mg/d"), where="previous.schedule")
    assert e1.value.field == "previous.schedule"
    with pytest.raises(InputError, match="needs") as e2:
        ScheduleSettings(mode="flex")
    assert e2.value.field == "schedule.steps"
    with pytest.raises(InputError, match="belong to mode") as e3:
        ScheduleSettings(rate=Q_(1, "mL/d"), steps=(FlexStep(start=time(), rate=Q_(1, "mL/d")),))
    assert e3.value.field == "schedule.steps"
    with pytest.raises(InputError) as e4:
        FlexStep(start=time(), rate=Q_(1, "mL/d"), days=("monday",))
    assert e4.value.field == "schedule.steps[0].days"
    with pytest.raises(InputError, match="exactly one of 'volume' or 'dose'") as e5:
        PatientBolusSettings(duration=Q_(1, "min"), lockout=Q_(1, "h"), max_per_day=1)
    assert e5.value.field == "patient_bolus"
    with pytest.raises(InputError, match="is not after") as e6:
        InterruptionSettings(start=AT, end=AT)  # equal: refused (end must be after start)
    assert e6.value.field == "interruption.end"
    with pytest.raises(InputError) as e7:
        Plan(at=AT, pump=PumpSettings(model=PUMP), admixture=(), schedule=ScheduleSettings(
            rate=Q_(1, "mL/d")))  # fmt: skip
    assert e7.value.field == "admixture"


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (True, False), (2.0, False)])
def test_max_per_day_is_a_whole_number_from_one(count: Any, ok: bool) -> None:
    def build() -> PatientBolusSettings:
        return PatientBolusSettings(
            volume=Q_(0.1, "mL"), duration=Q_(1, "min"), lockout=Q_(1, "h"), max_per_day=count
        )

    if ok:
        assert build().max_per_day == count
    else:
        with pytest.raises(InputError) as err:
            build()
        assert err.value.field == "patient_bolus.max_per_day"


def test_where_takes_no_part_in_equality() -> None:
    a = FillSettings(volume=Q_(2, "mL"), at=AT, where="fill")
    b = FillSettings(volume=Q_(2.0, "mL"), at=AT, where="refill.last_fill")
    assert a == b
