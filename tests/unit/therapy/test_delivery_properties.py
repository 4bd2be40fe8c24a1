"""Property tests of the delivery integral and what is built on it (reservoir, refill dates).

The brute-force reference is built from the schedule objects (day programs, boluses), never from
:class:`DeliveryModel` internals. All schedule times and interval endpoints sit on whole minutes,
so every rate is constant within each minute and the per-minute sum is exact up to float
summation.
"""

import itertools
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.admixture import make_admixture
from thecal.therapy.delivery import DeliveryModel, dose_delivered, volume_delivered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.refill_dates import forecast
from thecal.therapy.reservoir import Fill, ScheduleChange, expected_volume
from thecal.therapy.schedule import (
    BasalProgram,
    DayProgram,
    FlexStep,
    PeriodicBolus,
    Schedule,
    SingleBolus,
    day_program,
    patient_bolus,
    periodic_bolus,
    single_bolus,
    weekly,
)
from thecal.units import Q_, Quantity

BASE = datetime(2024, 1, 1)  # a Monday
FAST = settings(max_examples=60, deadline=None)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Floats in mL/h with a few decimals: any positive rate works, these keep the output readable.
rates = st.integers(min_value=0, max_value=200).map(lambda n: n / 100.0)


@st.composite
def day_programs(draw: st.DrawFn, min_rate: float = 0.0) -> DayProgram:
    extra = draw(st.sets(st.integers(min_value=1, max_value=1439), max_size=4))
    starts = [0, *sorted(extra)]
    return day_program(
        [(time(m // 60, m % 60), Q_(max(draw(rates), min_rate), "mL/h")) for m in starts]
    )


@st.composite
def basal_programs(draw: st.DrawFn, min_rate: float = 0.0) -> BasalProgram:
    default = draw(day_programs(min_rate))
    days = {d: draw(day_programs(min_rate)) for d in WEEKDAYS if draw(st.booleans())}
    return weekly(days, default)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    periodic = []
    for _ in range(draw(st.integers(0, 2))):
        every = draw(st.integers(min_value=30, max_value=2880))
        periodic.append(periodic_bolus(
            Q_(draw(st.integers(1, 100)) / 100.0, "mL"), Q_(every, "min"),
            Q_(draw(st.integers(1, every)), "min"),
            BASE + timedelta(minutes=draw(st.integers(-3000, 3000))),
        ))  # fmt: skip
    single = [
        single_bolus(
            Q_(draw(st.integers(1, 100)) / 100.0, "mL"),
            BASE + timedelta(minutes=draw(st.integers(-3000, 6000))),
            Q_(draw(st.integers(1, 600)), "min"),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]
    return Schedule(draw(basal_programs()), tuple(periodic), tuple(single))


# --- the brute-force reference ---------------------------------------------------------------


def _minutes(t: datetime) -> int:
    seconds = (t - BASE).total_seconds()
    assert seconds % 60 == 0, "the reference needs whole minutes"
    return int(seconds // 60)


def _ml_per_min(rate: Quantity) -> float:
    return float(rate.to("mL/min").magnitude)


@dataclass
class _Bolus:
    start: int  # minutes from BASE
    every: int | None  # None: a single bolus
    duration: int
    per_minute: float


def brute_force_ml(schedule: Schedule, start: datetime, end: datetime) -> float:
    """Sum over every minute in [start, end) of the rate the schedule objects define."""
    days: list[list[tuple[int, float]]] = [
        [(s.start.hour * 60 + s.start.minute, _ml_per_min(s.rate)) for s in day.steps]
        for day in schedule.basal.days
    ]
    boluses = [
        _Bolus(_minutes(p.first), int(p.every.to("min").magnitude + 0.5),
               int(p.duration.to("min").magnitude + 0.5), 0.0)
        for p in schedule.periodic
    ] + [
        _Bolus(_minutes(s.at), None, int(s.duration.to("min").magnitude + 0.5), 0.0)
        for s in schedule.single
    ]  # fmt: skip
    for b, src in zip(boluses, (*schedule.periodic, *schedule.single), strict=True):
        assert isinstance(src, PeriodicBolus | SingleBolus)
        b.per_minute = float(src.volume.to("mL").magnitude) / b.duration
    total = 0.0
    for m in range(_minutes(start), _minutes(end)):
        t = BASE + timedelta(minutes=m)
        minute_of_day = t.hour * 60 + t.minute
        rate = 0.0
        for step_start, step_rate in days[t.weekday()]:
            if step_start <= minute_of_day:
                rate = step_rate  # steps are sorted: the last one started wins
        for b in boluses:
            offset = m - b.start
            if offset < 0:
                continue
            if b.every is not None:
                offset %= b.every
            if offset < b.duration:
                rate += b.per_minute
        total += rate
    return total


def test_brute_force_reference_itself() -> None:
    """Hand check of the reference: 1 mL/h all day plus one 0.5 mL bolus over 30 min."""
    day = day_program([(time(0, 0), Q_(1, "mL/h"))])
    schedule = Schedule(weekly({}, day), single=(single_bolus(Q_(0.5, "mL"), BASE, Q_(30, "min")),))
    # 2 h × 1 mL/h + 0.5 mL = 2.5 mL.
    assert brute_force_ml(schedule, BASE, BASE + timedelta(hours=2)) == pytest.approx(2.5)


# --- (i) exact integral == per-minute sum ----------------------------------------------------


@FAST
@given(
    schedule=schedules(),
    start=st.integers(min_value=-2 * 1440, max_value=9 * 1440),
    length=st.integers(min_value=0, max_value=3 * 1440),
)
def test_volume_equals_per_minute_sum(schedule: Schedule, start: int, length: int) -> None:
    a = BASE + timedelta(minutes=start)
    b = a + timedelta(minutes=length)
    exact = float(DeliveryModel(schedule).volume(a, b).to("mL").magnitude)
    # Tolerance: both sides are float sums of ≤ 4320 terms of ≤ 242 mL/h (≈ 1e3 mL in all);
    # the model also subtracts cumulative volumes since 2001 (≈ 1e6 mL, rounding ≈ 1e-10 mL).
    # 1e-6 mL is far above either rounding and far below any real error (one minute of the
    # smallest non-zero rate, 0.01 mL/h, is 1.7e-4 mL).
    assert exact == pytest.approx(brute_force_ml(schedule, a, b), abs=1e-6)


# --- (iv) additivity -------------------------------------------------------------------------


@FAST
@given(
    schedule=schedules(),
    times=st.lists(st.floats(min_value=-200.0, max_value=400.0), min_size=3, max_size=3),
)
def test_volume_is_additive(schedule: Schedule, times: list[float]) -> None:
    a, b, c = (BASE + timedelta(hours=h) for h in sorted(times))
    model = DeliveryModel(schedule)
    whole = model.volume(a, c).to("mL").magnitude
    parts = model.volume(a, b).to("mL").magnitude + model.volume(b, c).to("mL").magnitude
    # Any endpoints here (not whole minutes). Each volume is a difference of cumulative
    # volumes since 2001 (≈ 1e6 mL): float rounding ≈ 1e-10 mL per term; 1e-7 mL bounds it.
    assert whole == pytest.approx(parts, abs=1e-7)


# --- (ii) mass balance and dose --------------------------------------------------------------


@FAST
@given(
    schedule=schedules(),
    fill_ml=st.integers(min_value=1, max_value=400).map(lambda n: n / 10.0),
    fill_at=st.integers(min_value=-1440, max_value=1440),
    elapsed=st.integers(min_value=0, max_value=10 * 1440),
    conc=st.integers(min_value=1, max_value=5000).map(lambda n: n / 100.0),
)
def test_mass_balance_and_dose(
    library: DrugLibrary, schedule: Schedule, fill_ml: float, fill_at: int, elapsed: int,
    conc: float,
) -> None:  # fmt: skip
    fill = Fill(Q_(fill_ml, "mL"), BASE + timedelta(minutes=fill_at))
    at = fill.at + timedelta(minutes=elapsed)
    ev = expected_volume(fill, schedule, at)
    model = DeliveryModel(schedule)
    assert ev.volume.magnitude >= 0
    assert (ev.volume + ev.delivered).to("mL").magnitude == pytest.approx(fill_ml, abs=1e-9)
    programmed = float(model.volume(fill.at, at).to("mL").magnitude)
    assert ev.programmed.to("mL").magnitude == pytest.approx(programmed, abs=1e-9)
    if ev.ran_empty_at is None:
        # Until empty: everything programmed left the reservoir.
        assert ev.delivered.to("mL").magnitude == pytest.approx(programmed, abs=1e-9)
    else:
        assert ev.volume.magnitude == 0
        assert fill.at <= ev.ran_empty_at <= at
        # At the empty time the schedule had asked for the whole fill: the inverse is bisected
        # to 0.1 s, during which at most 242 mL/h flows (2 mL/h basal + 4 boluses of 1 mL/min),
        # i.e. 0.0068 mL.
        at_empty = float(model.volume(fill.at, ev.ran_empty_at).to("mL").magnitude)
        assert at_empty == pytest.approx(fill_ml, abs=0.01)
    # Dose per drug = concentration × volume, for every drug in the admixture.
    admixture = make_admixture([(library.get("hydromorphone"), Q_(conc, "mg/mL")),
                                (library.get("bupivacaine"), Q_(0.1, "mg/mL"))])  # fmt: skip
    doses = dose_delivered(schedule, admixture, fill.at, at)
    volume = volume_delivered(schedule, fill.at, at).to("mL").magnitude
    assert doses["hydromorphone"].to("mg").magnitude == pytest.approx(conc * volume, abs=1e-9)
    assert doses["bupivacaine"].to("mg").magnitude == pytest.approx(0.1 * volume, abs=1e-9)


# --- (iii) refill date is monotone in the basal rate -----------------------------------------


def _raise_rates(basal: BasalProgram, increments: list[float]) -> BasalProgram:
    """Every step's rate plus a non-negative increment: a pointwise higher rate function."""
    days = []
    k = 0
    for day in basal.days:
        steps = []
        for step in day.steps:
            steps.append(
                FlexStep(step.start, step.rate + Q_(increments[k % len(increments)], "mL/h"))
            )
            k += 1
        days.append(DayProgram(tuple(steps)))
    return BasalProgram(tuple(days))


@FAST
@given(
    basal=basal_programs(min_rate=0.01),
    increments=st.lists(rates, min_size=1, max_size=8),
    with_patient=st.booleans(),
    fill_ml=st.integers(min_value=50, max_value=200).map(lambda n: n / 10.0),
)
def test_refill_date_is_monotone_in_basal_rate(
    catalog: DeviceCatalog, library: DrugLibrary, basal: BasalProgram, increments: list[float],
    with_patient: bool, fill_ml: float,
) -> None:  # fmt: skip
    pump = catalog.pump("SynchroMed II 8637-20")
    admixture = make_admixture([(library.get("morphine"), Q_(10, "mg/mL"))])
    patient = patient_bolus(Q_(0.1, "mL"), Q_(10, "min"), Q_(4, "h"), 3) if with_patient else None
    fill = Fill(Q_(fill_ml, "mL"), BASE + timedelta(hours=7))
    low = forecast(fill, Schedule(basal), pump, None, patient, admixture, library)
    high = forecast(fill, Schedule(_raise_rates(basal, increments)), pump, None, patient,
                    admixture, library)  # fmt: skip
    # Both inverses are bisected to 0.1 s (never early), so a later-by-less-than-0.1 s result
    # for the higher rate is rounding, not a violation.
    tolerance = timedelta(seconds=0.1)
    for a, b in ((high.low_alarm_nominal, low.low_alarm_nominal),
                 (high.low_alarm_worst, low.low_alarm_worst),
                 (high.empty_worst, low.empty_worst),
                 (high.refill_by, low.refill_by)):  # fmt: skip
        assert a is not None and b is not None  # rates ≥ 0.01 mL/h: reached within the horizon
        assert a <= b + tolerance


# --- (v) reprogramming between fills ---------------------------------------------------------


@FAST
@given(
    first=schedules(),
    changes=st.lists(
        st.tuples(schedules(), st.integers(min_value=-1440, max_value=12 * 1440)),
        min_size=1,
        max_size=3,
        unique_by=lambda c: c[1],
    ),
    fill_ml=st.integers(min_value=1, max_value=400).map(lambda n: n / 10.0),
    elapsed=st.integers(min_value=0, max_value=10 * 1440),
)
def test_expected_volume_across_program_changes(
    first: Schedule, changes: list[tuple[Schedule, int]], fill_ml: float, elapsed: int
) -> None:
    fill = Fill(Q_(fill_ml, "mL"), BASE)
    at = BASE + timedelta(minutes=elapsed)
    steps = tuple(
        ScheduleChange(BASE + timedelta(minutes=m), s)
        for s, m in sorted(changes, key=lambda c: c[1])
    )
    ev = expected_volume(fill, first, at, changes=steps)
    # Mass balance, whatever the reprogramming.
    assert ev.volume.magnitude >= 0
    assert (ev.volume + ev.delivered).to("mL").magnitude == pytest.approx(fill_ml, abs=1e-9)
    # Programmed = each piece integrated with the schedule running in it (brute force here:
    # the schedule at each piece's start, by a linear scan independent of the module).
    cuts = sorted({fill.at, at, *(c.at for c in steps if fill.at < c.at < at)})
    want = 0.0
    for a, b in itertools.pairwise(cuts):
        running = first
        for c in steps:
            if c.at <= a:
                running = c.schedule
        want += float(DeliveryModel(running).volume(a, b).to("mL").magnitude)
    assert ev.programmed.to("mL").magnitude == pytest.approx(want, abs=1e-6)
    if ev.ran_empty_at is not None:
        assert fill.at <= ev.ran_empty_at <= at and ev.volume.magnitude == 0
        # Up to the empty time the pieces had asked for the whole fill (bisection: 0.1 s).
        upto = expected_volume(fill, first, ev.ran_empty_at, changes=steps)
        assert upto.programmed.to("mL").magnitude == pytest.approx(fill_ml, abs=0.01)
    else:
        assert ev.delivered.to("mL").magnitude == pytest.approx(want, abs=1e-6)


@FAST
@given(schedule=schedules(), cut=st.integers(min_value=1, max_value=5 * 1440))
def test_a_change_to_the_same_program_changes_nothing(schedule: Schedule, cut: int) -> None:
    fill = Fill(Q_(40.0, "mL"), BASE)
    at = BASE + timedelta(days=6)
    plain = expected_volume(fill, schedule, at)
    split = expected_volume(
        fill, schedule, at, changes=(ScheduleChange(BASE + timedelta(minutes=cut), schedule),)
    )
    # Additivity of the integral (1e-7 mL per cut, as in test_volume_is_additive).
    assert split.volume.magnitude == pytest.approx(plain.volume.magnitude, abs=1e-6)
    assert split.programmed.magnitude == pytest.approx(plain.programmed.magnitude, abs=1e-6)
