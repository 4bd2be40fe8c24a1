from datetime import datetime, time, timedelta

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.admixture import make_admixture
from thecal.therapy.delivery import ReportedBolus, daily_dose, dose_delivered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.reservoir import (
    Fill,
    ScheduleChange,
    check_fill,
    expected_volume,
    reservoir_capacity,
    schedule_in_force,
)
from thecal.therapy.schedule import (
    Schedule,
    continuous,
    day_program,
    periodic_bolus,
    weekly,
)
from thecal.units import Q_, InputError, Quantity

FILL_AT = datetime(2024, 3, 4, 8, 0)  # a Monday


# --- check_fill ------------------------------------------------------------------------------


def test_full_20_ml_fill_fits_a_20_ml_pump(catalog: DeviceCatalog) -> None:
    check_fill(Q_(20, "mL"), catalog.pump("SynchroMed II 8637-20"))
    check_fill(Q_("20.0 mL"), catalog.pump("Prometra II 20 mL"))


def test_40_ml_in_a_20_ml_pump_is_refused(catalog: DeviceCatalog) -> None:
    # The closed claim: a 20 mL fill entered as 40 mL.
    with pytest.raises(InputError) as err:
        check_fill(Q_(40, "mL"), catalog.pump("SynchroMed II 8637-20"))
    assert err.value.field == "fill.volume"
    assert "20 mL" in str(err.value)
    # The same 40 mL fits the 40 mL model.
    check_fill(Q_(40, "mL"), catalog.pump("SynchroMed II 8637-40"))


def test_just_over_capacity_is_refused(catalog: DeviceCatalog) -> None:
    with pytest.raises(InputError):
        check_fill(Q_(20.01, "mL"), catalog.pump("SynchroMed II 8637-20"))


@pytest.mark.parametrize("volume", [Q_(0, "mL"), Q_(-1, "mL")])
def test_empty_or_negative_fill_is_refused(catalog: DeviceCatalog, volume: Quantity) -> None:
    with pytest.raises(InputError) as err:
        check_fill(volume, catalog.pump("SynchroMed II 8637-20"))
    assert err.value.field == "fill.volume"


def test_fill_must_be_a_volume(catalog: DeviceCatalog) -> None:
    with pytest.raises(InputError) as err:
        check_fill(Q_(20, "mg"), catalog.pump("SynchroMed II 8637-20"))
    assert err.value.field == "fill.volume"


def test_external_pump_needs_the_bag_volume(catalog: DeviceCatalog) -> None:
    curlin = catalog.pump("Curlin 6000 CMS")
    with pytest.raises(InputError) as err:
        check_fill(Q_(100, "mL"), curlin)
    assert err.value.field == "pump.reservoir"
    check_fill(Q_(100, "mL"), curlin, reservoir_override=Q_(100, "mL"))
    with pytest.raises(InputError) as err:
        check_fill(Q_(150, "mL"), curlin, reservoir_override=Q_(100, "mL"))
    assert err.value.field == "fill.volume"
    with pytest.raises(InputError):
        reservoir_capacity(curlin, Q_(0, "mL"))


def test_override_wins_over_catalog(catalog: DeviceCatalog) -> None:
    pump = catalog.pump("SynchroMed II 8637-40")
    assert reservoir_capacity(pump).magnitude == pytest.approx(40)
    assert reservoir_capacity(pump, Q_(0.02, "L")).magnitude == pytest.approx(20)


# --- expected_volume -------------------------------------------------------------------------


def test_seed_trial_numbers(library: DrugLibrary) -> None:
    """Seed 003: hydromorphone 0.1 mg/mL and bupivacaine 0.1 mg/mL at 0.5 mL/h (1.2 mg/d)."""
    admixture = make_admixture(
        [(library.get("hydromorphone"), Q_(0.1, "mg/mL")),
         (library.get("bupivacaine"), Q_(0.1, "mg/mL"))]
    )  # fmt: skip
    schedule = Schedule(continuous(Q_(0.5, "mL/h")))
    fill = Fill(Q_(100, "mL"), FILL_AT)
    # 0.5 mL/h × 24 h = 12 mL/d; 0.1 mg/mL × 12 mL/d = 1.2 mg/d of each drug.
    dd = daily_dose(schedule, admixture)
    assert dd.nominal["hydromorphone"].to("mg/d").magnitude == pytest.approx(1.2)
    assert dd.nominal["bupivacaine"].to("mg/d").magnitude == pytest.approx(1.2)
    # After 10 h: 0.5 mL/h × 10 h = 5 mL delivered, 100 − 5 = 95 mL left, 0.1 × 5 = 0.5 mg.
    at = FILL_AT + timedelta(hours=10)
    ev = expected_volume(fill, schedule, at)
    assert ev.delivered.to("mL").magnitude == pytest.approx(5)
    assert ev.volume.to("mL").magnitude == pytest.approx(95)
    assert ev.ran_empty_at is None
    doses = dose_delivered(schedule, admixture, FILL_AT, at)
    assert doses["hydromorphone"].to("mg").magnitude == pytest.approx(0.5)


def test_runs_empty_and_clamps_at_zero() -> None:
    schedule = Schedule(continuous(Q_(0.5, "mL/h")))
    fill = Fill(Q_(100, "mL"), FILL_AT)
    # 250 h × 0.5 mL/h = 125 mL asked for; only 100 mL were there: empty at 100 / 0.5 = 200 h.
    ev = expected_volume(fill, schedule, FILL_AT + timedelta(hours=250))
    assert ev.volume.magnitude == 0
    assert ev.delivered.to("mL").magnitude == pytest.approx(100)
    assert ev.programmed.to("mL").magnitude == pytest.approx(125)
    assert ev.ran_empty_at is not None
    assert abs((ev.ran_empty_at - (FILL_AT + timedelta(hours=200))).total_seconds()) < 1


def test_reported_boluses_count_from_their_start() -> None:
    schedule = Schedule(continuous(Q_(0.5, "mL/h")))
    fill = Fill(Q_(20, "mL"), FILL_AT)
    at = FILL_AT + timedelta(hours=10)
    reported = [
        ReportedBolus(FILL_AT - timedelta(hours=1), Q_(1, "mL")),  # before the fill: ignored
        ReportedBolus(FILL_AT + timedelta(hours=5), Q_(1, "mL")),  # counted
        ReportedBolus(at, Q_(1, "mL")),  # at the query time: not yet
    ]
    ev = expected_volume(fill, schedule, at, reported)
    # 5 mL basal + 1 mL bolus = 6 mL; 20 − 6 = 14 mL.
    assert ev.delivered.to("mL").magnitude == pytest.approx(6)
    assert ev.volume.to("mL").magnitude == pytest.approx(14)


def test_reported_boluses_bring_the_empty_time_forward() -> None:
    schedule = Schedule(continuous(Q_(0.5, "mL/h")))
    fill = Fill(Q_(20, "mL"), FILL_AT)
    reported = [ReportedBolus(FILL_AT + timedelta(hours=1), Q_(4, "mL"))]
    ev = expected_volume(fill, schedule, FILL_AT + timedelta(hours=48), reported)
    # (20 − 4) mL / 0.5 mL/h = 32 h instead of 40 h.
    assert ev.ran_empty_at is not None
    assert abs((ev.ran_empty_at - (FILL_AT + timedelta(hours=32))).total_seconds()) < 1


def test_flex_and_periodic_boluses() -> None:
    day = day_program([(time(0, 0), Q_(0.2, "mL/h")), (time(8, 0), Q_(0.5, "mL/h"))])
    schedule = Schedule(
        weekly({}, default=day),
        periodic=(periodic_bolus(Q_(0.5, "mL"), Q_(6, "h"), Q_(1, "h"), FILL_AT),),
    )
    fill = Fill(Q_(20, "mL"), FILL_AT)
    # 08:00 → 08:00 next day: basal 16 h × 0.5 + 8 h × 0.2 = 8 + 1.6 = 9.6 mL;
    # boluses at 08, 14, 20, 02 h: 4 × 0.5 = 2 mL. Total 11.6 mL; 20 − 11.6 = 8.4 mL left.
    ev = expected_volume(fill, schedule, FILL_AT + timedelta(days=1))
    assert ev.delivered.to("mL").magnitude == pytest.approx(11.6)
    assert ev.volume.to("mL").magnitude == pytest.approx(8.4)


def test_query_before_fill_is_an_input_error() -> None:
    schedule = Schedule(continuous(Q_(0.5, "mL/h")))
    with pytest.raises(InputError) as err:
        expected_volume(Fill(Q_(20, "mL"), FILL_AT), schedule, FILL_AT - timedelta(minutes=1))
    assert err.value.field == "at"


def test_fill_volume_is_checked_in_expected_volume() -> None:
    schedule = Schedule(continuous(Q_(0.5, "mL/h")))
    with pytest.raises(InputError) as err:
        expected_volume(Fill(Q_(0, "mL"), FILL_AT), schedule, FILL_AT)
    assert err.value.field == "fill.volume"


# --- reprogramming between fills -------------------------------------------------------------


def _per_day(ml: float) -> Schedule:
    return Schedule(continuous(Q_(ml, "mL/d")))


def test_titration_between_fills_counts_each_rate_for_its_own_days() -> None:
    # 20 mL filled; 0.5 mL/d for 10 days, then titrated to 1.0 mL/d for 5 days:
    # delivered 10 × 0.5 + 5 × 1.0 = 10 mL, so 20 − 10 = 10 mL expected (the new rate since
    # the fill would say 20 − 15 × 1.0 = 5 mL: a false 5 mL discrepancy).
    fill = Fill(Q_(20, "mL"), FILL_AT)
    change = ScheduleChange(FILL_AT + timedelta(days=10), _per_day(1.0))
    ev = expected_volume(fill, _per_day(0.5), FILL_AT + timedelta(days=15), changes=(change,))
    assert ev.volume.to("mL").magnitude == pytest.approx(10.0, abs=1e-9)
    assert ev.ran_empty_at is None
    assert schedule_in_force(_per_day(0.5), (change,), FILL_AT + timedelta(days=9)) == _per_day(0.5)
    assert schedule_in_force(_per_day(0.5), (change,), change.at) == _per_day(1.0)


def test_runs_empty_in_the_faster_period() -> None:
    # 10 mL: 0.5 mL/d for 10 days leaves 5 mL; at 1.0 mL/d that lasts 5 days: empty on day 15.
    fill = Fill(Q_(10, "mL"), FILL_AT)
    change = ScheduleChange(FILL_AT + timedelta(days=10), _per_day(1.0))
    ev = expected_volume(fill, _per_day(0.5), FILL_AT + timedelta(days=20), changes=(change,))
    assert ev.volume.magnitude == 0
    assert ev.programmed.to("mL").magnitude == pytest.approx(15.0)  # 5 + 10 × 1.0
    assert ev.ran_empty_at is not None
    assert abs(ev.ran_empty_at - (FILL_AT + timedelta(days=15))) < timedelta(seconds=1)


def test_changes_before_the_fill_or_after_now_only_set_the_start() -> None:
    # A change before the fill is what ran at the fill; one after `at` has not happened yet.
    fill = Fill(Q_(20, "mL"), FILL_AT)
    before = ScheduleChange(FILL_AT - timedelta(days=3), _per_day(1.0))
    after = ScheduleChange(FILL_AT + timedelta(days=30), _per_day(5.0))
    ev = expected_volume(fill, _per_day(0.5), FILL_AT + timedelta(days=4), changes=(before, after))
    assert ev.volume.to("mL").magnitude == pytest.approx(16.0)  # 20 − 4 × 1.0


def test_changes_out_of_order_name_the_field() -> None:
    fill = Fill(Q_(20, "mL"), FILL_AT)
    late = ScheduleChange(FILL_AT + timedelta(days=5), _per_day(1.0))
    early = ScheduleChange(FILL_AT + timedelta(days=2), _per_day(0.2))
    with pytest.raises(InputError) as err:
        expected_volume(fill, _per_day(0.5), FILL_AT + timedelta(days=6), changes=(late, early))
    assert err.value.field == "changes[1].at"
