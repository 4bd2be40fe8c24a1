"""Property tests of the firmware against the therapy core.

1. For any schedule the therapy core accepts, firmware delivery over any span equals the core's
   exact integral within one stroke (fault-free plant, zero bias).
2. No program, bolus sequence or fault makes the firmware exceed its hard daily limit in any
   24 h window (checked on a 15-min grid of window starts), nor the patient-bolus maximum per
   rolling 24 h or the lockout.
"""

from datetime import time

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from thecal.devices.catalog import DeviceCatalog
from thecal.devices.log import EventKind
from thecal.devices.pump import Program
from thecal.therapy.delivery import DeliveryModel
from thecal.therapy.library import DrugLibrary
from thecal.therapy.schedule import (
    DayProgram,
    Schedule,
    day_program,
    patient_bolus,
    periodic_bolus,
    single_bolus,
    weekly,
)
from thecal.units import Q_

from .helpers import START, STROKE, at, filled, ml, morphine, pump, ziconotide

FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# 0 (off) or at least the SynchroMed minimum 0.048 mL/d; up to 2 mL/d.
rates = st.one_of(st.just(0.0), st.integers(min_value=5, max_value=200).map(lambda n: n / 100))


# Near the ziconotide limit below: 0 or 0.05-0.9 mL/d.
low_rates = st.one_of(st.just(0.0), st.integers(min_value=5, max_value=90).map(lambda n: n / 100))


@st.composite
def days(draw: st.DrawFn, rate: st.SearchStrategy[float] = rates) -> DayProgram:
    extra = draw(st.sets(st.integers(min_value=1, max_value=1439), max_size=4))
    return day_program(
        [(time(m // 60, m % 60), Q_(draw(rate), "mL/d")) for m in [0, *sorted(extra)]]
    )


@st.composite
def schedules(draw: st.DrawFn, rate: st.SearchStrategy[float] = rates) -> Schedule:
    default = draw(days(rate))
    week = {d: draw(days(rate)) for d in WEEKDAYS if draw(st.booleans())}
    periodic = tuple(
        periodic_bolus(
            Q_(draw(st.integers(1, 50)) / 1000, "mL"),
            Q_(draw(st.integers(2, 48)), "h"),
            Q_(draw(st.integers(1, 60)), "min"),
            at(draw(st.integers(0, 48))),
        )
        for _ in range(draw(st.integers(0, 1)))
    )
    single = tuple(
        single_bolus(
            Q_(draw(st.integers(1, 200)) / 1000, "mL"),
            at(draw(st.integers(0, 200)) / 4),
            Q_(draw(st.integers(1, 120)), "min"),
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    return Schedule(weekly(week, default), periodic, single)


@FAST
@given(
    schedule=schedules(),
    a=st.floats(min_value=0, max_value=24 * 20),
    span=st.floats(min_value=0, max_value=24 * 10),
)
def test_firmware_delivery_matches_the_exact_integral_within_one_stroke(
    catalog: DeviceCatalog, library: DrugLibrary, schedule: Schedule, a: float, span: float
) -> None:
    dev = pump(catalog, library)
    filled(dev, "40 mL")
    assert dev.write_program(Program(schedule, morphine(library), Q_("2 mL"))).state_changed
    dev.acknowledge_alarm()
    dev.advance(at(a))
    before = ml(dev.peek().delivered_total)
    dev.advance(at(a + span))
    delivered = ml(dev.peek().delivered_total) - before
    exact = ml(DeliveryModel(schedule).volume(at(a), at(a + span)))
    stroke = ml(STROKE)
    assert abs(delivered - exact) < stroke + 1e-9
    # Never ahead of the integral since the program started (strokes floor, never round up).
    total = ml(DeliveryModel(schedule).volume(START, at(a + span)))
    assert total - stroke - 1e-9 < ml(dev.peek().delivered_total) <= total + 1e-9


LIMIT_ML = 21.6 / 25  # ziconotide hard 21.6 mcg/d at 25 mcg/mL = 0.864 mL per 24 h

actions = st.lists(
    st.tuples(
        st.integers(0, 72 * 4).map(lambda q: q / 4),
        st.sampled_from(
            [
                "ptb",
                "ptb",
                "ptb",
                "bolus",
                "program",
                "stop",
                "resume",
                "stall",
                "recover",
                "mri",
                "reset",
                "memory",
                "clock",
            ]
        ),
        st.integers(0, 10**6),
    ),
    max_size=25,
)


@FAST
@given(
    first=schedules(low_rates),
    later=st.lists(schedules(low_rates), min_size=1, max_size=3),
    ptb_ml=st.integers(5, 60).map(lambda n: n / 1000),
    lockout_h=st.integers(1, 8),
    max_per_day=st.integers(1, 8),
    plan=actions,
)
def test_no_sequence_exceeds_the_hard_daily_limit_or_the_patient_bolus_rules(
    catalog: DeviceCatalog,
    library: DrugLibrary,
    first: Schedule,
    later: list[Schedule],
    ptb_ml: float,
    lockout_h: int,
    max_per_day: int,
    plan: list[tuple[float, str, int]],
) -> None:
    adm = ziconotide(library)
    ptb = patient_bolus(Q_(ptb_ml, "mL"), Q_(10, "min"), Q_(lockout_h, "h"), max_per_day)
    dev = pump(catalog, library)
    filled(dev, "40 mL")
    dev.write_program(Program(first, adm, Q_("2 mL"), ptb))
    samples: list[float] = []
    steps = iter(sorted(plan))
    pending = next(steps, None)
    for q in range(0, 100 * 4 + 1):
        h = q / 4
        while pending is not None and pending[0] <= h:
            t, kind, n = pending
            dev.advance(at(t))
            _apply(dev, kind, n, later, adm, ptb)
            pending = next(steps, None)
        dev.advance(at(h))
        samples.append(ml(dev.peek().delivered_total))
    worst = max(samples[i + 96] - samples[i] for i in range(len(samples) - 96))
    target(worst)  # steer the search towards programs and boluses that press on the limit
    assert worst <= LIMIT_ML + 1e-9
    grants = [e.sim_hours for e in dev.events() if e.kind == EventKind.PTB_GRANTED]
    for i, g in enumerate(grants):
        assert sum(1 for x in grants[: i + 1] if x > g - 24) <= max_per_day
        if i:
            assert g - grants[i - 1] >= lockout_h - 1e-9


def _apply(dev, kind, n, later, adm, ptb):  # type: ignore[no-untyped-def]
    if kind == "ptb":
        dev.patient_bolus_request()
    elif kind == "bolus":
        dev.clinician_bolus(Q_(0.01 + (n % 50) / 100, "mL"), Q_(5 + n % 115, "min"))
    elif kind == "program":
        dev.write_program(Program(later[n % len(later)], adm, Q_("2 mL"), ptb))
    elif kind == "stop":
        dev.stop()
    elif kind == "resume":
        dev.resume()
    elif kind == "stall":
        dev.inject_motor_stall()
    elif kind == "recover":
        dev.recover_motor_stall()
    elif kind == "mri":
        dev.mri_scan(Q_(n % 90 + 1, "min"), Q_(2 + n % 22, "h"))
    elif kind == "reset":
        dev.inject_low_battery_reset()
    elif kind == "memory":
        dev.inject_memory_error()
    elif kind == "clock":
        dev.set_clock(dev.read_clock() + (n % 49 - 24) * (at(1) - at(0)))
