"""Replacement planning for primary IPGs from the measured drain."""

from datetime import date, datetime, timedelta

from thecal.clinic.stimulator_battery import battery_outlook, fit_drain
from thecal.clinic.stimulator_model import BatteryReading, MeasurementSource
from thecal.stimulation.catalog import BatteryKind, IpgSpec
from thecal.therapy.findings import Code, Level
from thecal.units import Q_

T0 = datetime(2020, 1, 1, 9, 0)
PRIMARY = IpgSpec("Test primary", "t", {"eos_voltage": Q_(3.2, "V")}, {"eos_voltage": "label"},
                  BatteryKind.PRIMARY)  # fmt: skip
LEAD = Q_(6.0, "mo")


def _reading(day: float, volts: float) -> BatteryReading:
    return BatteryReading("p", "d", T0 + timedelta(days=day), MeasurementSource.MANUAL,
                          Q_(volts, "V"))  # fmt: skip


def _outlook(readings, today: date, ipg: IpgSpec | None = PRIMARY, model: str = "Test primary"):
    return battery_outlook(readings, ipg, model, date(2019, 12, 1), today, 2.0, "2 SE", LEAD,
                           "6 months ahead")  # fmt: skip


def test_exact_line_projects_one_date() -> None:
    # 3.6, 3.5, 3.4 V at days 0, 100, 200: slope -0.001 V/d, no scatter (SE 0). Mean point
    # (day 100, 3.5 V); EOS 3.2 V at day 100 + (3.2 - 3.5) / -0.001 = day 400 = 2021-02-04.
    readings = [_reading(0, 3.6), _reading(100, 3.5), _reading(200, 3.4)]
    drain = fit_drain(readings)
    assert drain is not None
    assert abs(float(drain.slope.to("V/d").magnitude) + 0.001) < 1e-12
    out = _outlook(readings, date(2020, 7, 20))
    assert out.nominal == out.earliest == out.latest_eos == date(2021, 2, 4)
    (f,) = out.findings
    assert f.code is Code.STIM_REPLACEMENT_PROJECTED and f.level is Level.INFO


def test_replacement_lead_edge() -> None:
    # EOS 2021-02-04; 6 months = 182.62 d (pint's month = year / 12): today + lead reaches it
    # from 2020-08-06 (2020-08-06 + 182.62 d = 2021-02-04.6, date 2021-02-04): soft, plan now.
    # One day earlier, today + lead = 2021-02-03: still info.
    readings = [_reading(0, 3.6), _reading(100, 3.5), _reading(200, 3.4)]
    assert _outlook(readings, date(2020, 8, 6)).findings[0].level is Level.SOFT
    assert _outlook(readings, date(2020, 8, 5)).findings[0].level is Level.INFO


def test_scatter_widens_the_range() -> None:
    readings = [_reading(0, 3.6), _reading(100, 3.52), _reading(200, 3.4), _reading(300, 3.31)]
    out = _outlook(readings, date(2020, 11, 1))
    assert out.earliest is not None and out.nominal is not None
    assert out.earliest < out.nominal
    assert out.latest_eos is None or out.latest_eos > out.nominal


def test_without_eos_voltage_or_readings_it_names_the_inputs() -> None:
    registry = IpgSpec("Registry", "r", {"longevity_typical": Q_(49.9, "mo")},
                       {"longevity_typical": "RAPM 2019"}, BatteryKind.PRIMARY)  # fmt: skip
    out = _outlook([_reading(0, 3.6)], date(2021, 1, 1), registry, "Registry")
    (f,) = out.findings
    assert f.code is Code.STIM_INPUT_MISSING and "end-of-service voltage" in f.message
    assert "at least 3 voltage readings" in f.message and out.typical_end is not None
    assert "RAPM 2019" in f.source
    unknown = _outlook([], date(2021, 1, 1), None, "Mystery IPG")
    assert "catalog entry" in unknown.findings[0].message


def test_rechargeable_counts_recharges_and_projects_nothing() -> None:
    spec = IpgSpec("R", "r", {}, {}, BatteryKind.RECHARGEABLE)
    readings = [
        BatteryReading(
            "p",
            "d",
            T0 + timedelta(days=i),
            MeasurementSource.MANUAL,
            percent=Q_(90, "%"),
            recharge=i % 2 == 0,
        )
        for i in range(6)
    ]
    out = _outlook(readings, date(2020, 2, 1), spec, "R")
    assert out.recharges == 3 and out.findings == () and out.nominal is None
