"""The vectorised fleet forecast against hand arithmetic and the scalar DeliveryModel."""

from datetime import datetime, time, timedelta

import numpy as np
import pint
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.therapy.delivery import DeliveryModel
from thecal.therapy.fleet_forecast import (
    FleetSchedules,
    fleet_patient_boluses,
    fleet_schedules,
    forecast_fleet,
    refill_by,
)
from thecal.therapy.schedule import (
    PatientBolus,
    Schedule,
    continuous,
    day_program,
    patient_bolus,
    periodic_bolus,
    weekly,
)
from thecal.units import Q_, InputError

ONE_SECOND_H = 1.0 / 3600.0


def _one(
    schedule: Schedule,
    fill_tod_h: float,
    fill_ml: float,
    alarm_ml: float,
    patient: PatientBolus | None = None,
) -> tuple[float, float]:
    """(worst case, nominal) hours for a single pump."""
    vol, count = fleet_patient_boluses([patient])
    out = forecast_fleet(
        fleet_schedules([schedule]),
        Q_(fill_tod_h, "h"),
        Q_(fill_ml, "mL"),
        Q_(alarm_ml, "mL"),
        vol,
        count,
        nominal=True,
    )
    assert out.nominal is not None
    return float(out.worst_case.m_as("h")[0]), float(out.nominal.m_as("h")[0])


def _bolus(volume_ml: float, max_per_day: int) -> PatientBolus:
    # Lockout 1 h: max_count_per_day = min(max_per_day, ceil(24 h / 1 h)) = max_per_day (≤ 24).
    return patient_bolus(Q_(volume_ml, "mL"), Q_(10, "min"), Q_(1, "h"), max_per_day)


# --- hand-computed cases ------------------------------------------------------------------


def test_continuous_no_bolus_864_h() -> None:
    # 20 mL fill − 2 mL alarm = 18 mL; 18 mL / 0.5 mL/d = 36 d = 864 h.
    worst, nominal = _one(Schedule(continuous(Q_(0.5, "mL/d"))), 9.5, 20.0, 2.0)
    assert worst == pytest.approx(864.0, abs=1e-9)
    assert nominal == pytest.approx(864.0, abs=1e-9)


def test_patient_boluses_within_a_day() -> None:
    # W = 19.8 − 2 = 17.8 mL; D = 0.5 basal + 2 × 0.25 = 1.0 mL/d; k = ceil(17.8) − 1 = 17 days
    # (17 mL); day 18 opens with 0.5 mL of boluses (17.5 mL); 0.3 mL basal left at 0.5 mL/d
    # = 0.6 d = 14.4 h. τ = 17 × 24 + 14.4 = 422.4 h. Nominal: 17.8 / 0.5 = 35.6 d = 854.4 h.
    worst, nominal = _one(Schedule(continuous(Q_(0.5, "mL/d"))), 3.0, 19.8, 2.0, _bolus(0.25, 2))
    assert worst == pytest.approx(422.4, abs=1e-9)
    assert nominal == pytest.approx(854.4, abs=1e-9)


def test_boluses_at_period_start_reach_it() -> None:
    # W = 19.3 − 2 = 17.3 mL; D = 1.0 mL/d; after 17 d 17 mL, and the 0.5 mL of boluses at the
    # start of day 18 make 17.5 ≥ 17.3: reached at τ = 17 × 24 = 408 h.
    worst, _ = _one(Schedule(continuous(Q_(0.5, "mL/d"))), 0.0, 19.3, 2.0, _bolus(0.25, 2))
    assert worst == pytest.approx(408.0, abs=1e-9)


def test_flex_wraps_past_midnight() -> None:
    # 0 mL/h until 12:00, then 0.1 mL/h. Fill at 18:00, 1.0 mL must leave: 18:00→24:00 gives
    # 0.6 mL, nothing until noon, 0.4 mL / 0.1 mL/h = 4 h → 16:00 next day: 6 + 12 + 4 = 22 h.
    program = day_program([(time(0), Q_(0, "mL/h")), (time(12), Q_(0.1, "mL/h"))])
    worst, _ = _one(Schedule(weekly({}, default=program)), 18.0, 3.0, 2.0)
    assert worst == pytest.approx(22.0, abs=1e-9)


def test_zero_rate_never_reached_unless_boluses() -> None:
    schedule = Schedule(continuous(Q_(0, "mL/d")))
    worst, nominal = _one(schedule, 5.0, 20.0, 2.0)
    assert worst == np.inf and nominal == np.inf
    # Boluses only: D = 3 × 0.1 = 0.3 mL/d; W = 1 mL; after 3 d 0.9 mL, the day-4 boluses
    # (0.3 mL at its start) make 1.2 ≥ 1: τ = 72 h.
    worst, nominal = _one(schedule, 5.0, 3.0, 2.0, _bolus(0.1, 3))
    assert worst == pytest.approx(72.0, abs=1e-9)
    assert nominal == np.inf


@pytest.mark.parametrize("alarm_ml", [20.0, 25.0])
def test_threshold_at_or_above_fill_is_zero(alarm_ml: float) -> None:
    worst, nominal = _one(Schedule(continuous(Q_(0.5, "mL/d"))), 5.0, 20.0, alarm_ml)
    assert worst == 0.0 and nominal == 0.0


def test_units_are_converted() -> None:
    # The same pump given in min and mL/d: 18 mL at 0.5 mL/d = 864 h.
    fleet = FleetSchedules(
        Q_(np.array([[0.0]]), "min"), Q_(np.array([[0.5]]), "mL/d"), np.array([1])
    )
    out = forecast_fleet(fleet, Q_(600, "min"), Q_(0.02, "L"), Q_(2, "mL"), Q_(0, "mL"), 0)
    assert out.worst_case.m_as("h")[0] == pytest.approx(864.0)
    assert out.nominal is None


def test_refill_by() -> None:
    # min(864 − 48, 720) = 720 h; min(100 − 48, 720) = 52 h; inf − 48 → the stability 720 h.
    alarm = Q_(np.array([864.0, 100.0, np.inf]), "h")
    by = refill_by(alarm, Q_(2, "d"), Q_(30, "d"))
    assert by.m_as("h").tolist() == [720.0, 52.0, 720.0]
    per_pump = refill_by(alarm, Q_(np.array([0.0, 200.0, 0.0]), "h"), Q_(1000, "h"))
    assert per_pump.m_as("h").tolist() == [864.0, -100.0, 1000.0]


# --- input checks -------------------------------------------------------------------------


def test_weekday_program_is_refused() -> None:
    flat = day_program([(time(0), Q_(0.5, "mL/d"))])
    other = day_program([(time(0), Q_(0.7, "mL/d"))])
    with pytest.raises(ValueError, match=r"schedules\[1\].basal"):
        fleet_schedules(
            [Schedule(continuous(Q_(1, "mL/d"))), Schedule(weekly({"sat": other}, default=flat))]
        )


def test_periodic_bolus_is_refused() -> None:
    bolus = periodic_bolus(Q_(0.1, "mL"), Q_(6, "h"), Q_(10, "min"), datetime(2026, 1, 1))
    with pytest.raises(InputError, match=r"schedules\[0\]"):
        fleet_schedules([Schedule(continuous(Q_(1, "mL/d")), periodic=(bolus,))])


def _fleet(starts: list[float], rates: list[float]) -> FleetSchedules:
    return FleetSchedules(
        Q_(np.array([starts]), "h"), Q_(np.array([rates]), "mL/h"), np.array([len(starts)])
    )


@pytest.mark.parametrize(
    ("fleet", "tod_h", "field"),
    [
        (_fleet([0.0, 6.0], [0.1, -0.1]), 1.0, "fleet.rate[0]"),
        (_fleet([0.0, 6.0, 5.0], [0.1, 0.1, 0.1]), 1.0, "fleet.step_start[0]"),
        (_fleet([1.0, 6.0], [0.1, 0.1]), 1.0, "fleet.step_start[0, 0]"),
        (_fleet([0.0, 6.0], [0.1, 0.1]), 24.0, "fill_time_of_day[0]"),
    ],
)
def test_bad_inputs_name_the_field(fleet: FleetSchedules, tod_h: float, field: str) -> None:
    with pytest.raises(InputError) as err:
        forecast_fleet(fleet, Q_(tod_h, "h"), Q_(20, "mL"), Q_(2, "mL"), Q_(0, "mL"), 0)
    assert err.value.field == field


def test_bare_numbers_are_refused() -> None:
    with pytest.raises(InputError) as err:
        forecast_fleet(_fleet([0.0], [0.1]), Q_(1, "h"), 20.0, Q_(2, "mL"), Q_(0, "mL"), 0)
    assert err.value.field == "fill_volume"


# --- against the scalar reference ---------------------------------------------------------


def _random_pumps(
    rng: np.random.Generator, n: int
) -> tuple[list[Schedule], list[PatientBolus | None], list[datetime], list[float], list[float]]:
    schedules: list[Schedule] = []
    patients: list[PatientBolus | None] = []
    fills: list[datetime] = []
    fill_ml: list[float] = []
    alarm_ml: list[float] = []
    day0 = datetime(2026, 11, 23)
    for _ in range(n):
        count = int(rng.integers(1, 25))
        minutes = [0, *sorted(rng.choice(np.arange(1, 1440), count - 1, replace=False).tolist())]
        # Some zero-rate steps, the rest 0.05–2 mL/d (synthetic, only the arithmetic matters).
        rates = np.where(rng.random(count) < 0.2, 0.0, rng.uniform(0.05, 2.0, count))
        steps = [
            (time(m // 60, m % 60), Q_(float(r), "mL/d"))
            for m, r in zip(minutes, rates, strict=True)
        ]
        schedules.append(Schedule(weekly({}, default=day_program(steps))))
        if rng.random() < 0.6:
            lockout = Q_(float(rng.uniform(0.5, 8.0)), "h")
            patients.append(
                patient_bolus(
                    Q_(float(rng.uniform(0.01, 0.5)), "mL"),
                    Q_(10, "min"),
                    lockout,
                    int(rng.integers(1, 13)),
                )
            )
        else:
            patients.append(None)
        fills.append(day0 + timedelta(seconds=float(rng.uniform(0, 86400))))
        fill_ml.append(float(rng.uniform(1.0, 40.0)))
        alarm_ml.append(float(rng.uniform(0.0, 4.0)))
    return schedules, patients, fills, fill_ml, alarm_ml


def _hours_after(start: datetime, end: datetime | None) -> float:
    return np.inf if end is None else (end - start).total_seconds() / 3600.0


def test_matches_scalar_delivery_model_within_one_second() -> None:
    rng = np.random.default_rng(20261123)
    schedules, patients, fills, fill_ml, alarm_ml = _random_pumps(rng, 300)
    vol, count = fleet_patient_boluses(patients)
    tod = (
        np.array(
            [
                (f - f.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
                for f in fills
            ]
        )
        / 3600.0
    )
    # chunk_size 64: several chunks, and a last partial one.
    out = forecast_fleet(
        fleet_schedules(schedules),
        Q_(tod, "h"),
        Q_(np.array(fill_ml), "mL"),
        Q_(np.array(alarm_ml), "mL"),
        vol,
        count,
        nominal=True,
        chunk_size=64,
    )
    assert out.nominal is not None
    worst, nominal = out.worst_case.m_as("h"), out.nominal.m_as("h")
    horizon_h = 3650.0 * 24.0  # the scalar gives up (None) after 3650 d
    checked = 0
    for i, schedule in enumerate(schedules):
        model = DeliveryModel(schedule)
        w = fill_ml[i] - alarm_ml[i]
        for got, patient in ((worst[i], patients[i]), (nominal[i], None)):
            want = _hours_after(fills[i], model.time_to_deliver(fills[i], w, patient))
            if want == np.inf:
                assert got > horizon_h - ONE_SECOND_H
            else:
                assert got == pytest.approx(want, abs=ONE_SECOND_H), (i, patient)
                checked += 1
    assert checked > 500  # most pumps reach their alarm within the scalar's horizon
    assert np.all(worst <= nominal)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    extra_ml=st.floats(0.01, 10.0),
    chunk=st.integers(1, 50),
)
def test_more_fill_never_earlier_and_chunking_does_not_matter(
    seed: int, extra_ml: float, chunk: int
) -> None:
    rng = np.random.default_rng(seed)
    schedules, patients, fills, fill_ml, alarm_ml = _random_pumps(rng, 30)
    fleet = fleet_schedules(schedules)
    vol, count = fleet_patient_boluses(patients)
    tod = Q_(np.array([f.hour + f.minute / 60.0 for f in fills]), "h")
    alarm = Q_(np.array(alarm_ml), "mL")
    fill = np.array(fill_ml)

    def run(fill_ml_: np.ndarray, chunk_size: int) -> pint.Quantity:
        q = forecast_fleet(fleet, tod, Q_(fill_ml_, "mL"), alarm, vol, count, chunk_size=chunk_size)
        return q.worst_case

    base = run(fill, 16384).m_as("h")
    assert np.array_equal(run(fill, chunk).m_as("h"), base)
    assert np.all(run(fill + extra_ml, chunk).m_as("h") >= base)
