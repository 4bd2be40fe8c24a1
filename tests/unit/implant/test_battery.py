"""Battery: ERI after 5-7 years at typical flows (Medtronic), pump stops 90 days later."""

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.implant import battery_from_spec
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_

from .helpers import at, filled, morphine, pump, simple_program

YEAR_H = 24 * 365.25


# Typical flows below the 1 mL/d calibration flow (at which life is exactly 5 years).
@pytest.mark.parametrize("rate", ["0.1 mL/d", "0.5 mL/d", "0.9 mL/d"])
def test_life_is_5_to_7_years_and_stop_90_days_after_eri(
    catalog: DeviceCatalog, library: DrugLibrary, rate: str
) -> None:
    dev = pump(catalog, library)
    filled(dev, "40 mL")
    dev.write_program(simple_program(morphine(library), rate))
    # 40 mL at 0.1 mL/d is empty after 400 d. Acknowledged alarms stop repeating: the
    # reservoir alarms are not under test here.
    dev.advance(at(24 * 420))
    dev.acknowledge_alarm()
    dev.advance(at(7 * YEAR_H + 24))  # "at most 7 years"
    status = dev.peek()
    assert status.eri_at is not None and status.eos_at is not None
    life_years = (status.eos_at - at(0)).total_seconds() / 3600 / YEAR_H
    assert 5.0 <= life_years <= 7.0
    assert (status.eos_at - status.eri_at).days == 90
    # The closed form agrees (the few telemetry sessions above cost minutes, not days).
    calib = battery_from_spec(catalog.pump("SynchroMed II 8637-40"))
    assert calib is not None
    assert life_years == pytest.approx(calib.expected_life(Q_(rate)).magnitude, abs=0.01)
    assert not status.delivering


def test_life_shortens_with_flow_and_is_bounded_by_the_labelled_range(
    catalog: DeviceCatalog,
) -> None:
    calib = battery_from_spec(catalog.pump("SynchroMed II 8637-20"))
    assert calib is not None
    # Zero flow -> the 7-year maximum; the calibration flow (1 mL/d) -> the 5-year minimum.
    assert calib.expected_life(Q_("0 mL/d")).magnitude == pytest.approx(7.0)
    assert calib.expected_life(Q_("1 mL/d")).magnitude == pytest.approx(5.0)
    lives = [calib.expected_life(Q_(f"{f} mL/d")).magnitude for f in (0.1, 0.3, 0.6, 0.9)]
    assert lives == sorted(lives, reverse=True)


def test_no_battery_model_without_sourced_life(catalog: DeviceCatalog) -> None:
    assert battery_from_spec(catalog.pump("Prometra II 20 mL")) is None


def test_eri_and_eos_are_reported_on_the_device_clock(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    """A status says what the device knows: ERI and EOS on its own clock, not the simulation's."""
    from datetime import timedelta

    dev = pump(catalog, library)
    filled(dev, "40 mL")
    dev.write_program(simple_program(morphine(library), "0.1 mL/d"))
    dev.advance(at(24))
    # The clinic sets the device clock 3 h ahead of the true time.
    assert dev.set_clock(at(24) + timedelta(hours=3)).state_changed
    dev.advance(at(24 * 420))
    dev.acknowledge_alarm()
    dev.advance(at(7 * YEAR_H + 24))
    status = dev.peek()
    eri_log = [e for e in dev.events() if e.kind.value == "elective replacement indicator"]
    assert status.eri_at is not None and status.eos_at is not None and eri_log
    # The log stamps ERI on the device clock; the status reports that same moment.
    assert status.eri_at == eri_log[0].at
    assert eri_log[0].at - eri_log[0].sim_time == timedelta(hours=3)
    assert (status.eos_at - status.eri_at).days == 90
