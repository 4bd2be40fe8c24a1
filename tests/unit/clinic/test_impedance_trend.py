"""Impedance trend: rolling means hand-computed, each finding on its edge (not flagged) and
just past it (flagged), and the settings file's validation."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal.adapters.data_files import packaged
from thecal.clinic.impedance_trend import (
    Thresholds,
    TrendSettings,
    build_trend_settings,
    contact_trends,
    rolling_means,
)
from thecal.therapy.findings import Code, Level
from thecal.units import Q_, InputError

T0 = datetime(2020, 1, 1, 9, 0)
OPEN_NERVE = Thresholds("OpenNerve IPG", Q_(450.0, "ohm"), Q_(5000.0, "ohm"), {})


def _settings(rise: float = 0.3, drop: float = 0.3) -> TrendSettings:
    return TrendSettings(Q_(28.0, "d"), rise, drop, (OPEN_NERVE,), 2.0,
                         {"window": "FDA 2025", "rise": "product choice",
                          "drop": "product choice"})  # fmt: skip


def _r(day: float, ohm: float) -> tuple[datetime, Q_]:
    return (T0 + timedelta(days=day), Q_(ohm, "ohm"))


def _codes(findings: tuple) -> list[str]:
    return [f.code.value for f in findings]


def test_rolling_mean_hand_computed() -> None:
    # Window 28 d = (t - 28 d, t]. Readings at days 0, 10, 20, 28, 40:
    #   day 0: [800]                  -> 800
    #   day 10: [800, 900]            -> 850
    #   day 20: [800, 900, 1000]      -> 900
    #   day 28: day 0 is exactly 28 d before: outside; [900, 1000, 1100] -> 1000
    #   day 40: (12, 40]: [1000 (d20), 1100 (d28), 1300] -> 3400 / 3 = 1133.33
    points = rolling_means([_r(0, 800), _r(10, 900), _r(20, 1000), _r(28, 1100), _r(40, 1300)],
                           Q_(28, "d"))  # fmt: skip
    means = [round(float(p.mean.to("ohm").magnitude), 2) for p in points]
    assert means == [800.0, 850.0, 900.0, 1000.0, 1133.33]


def _rise_series(last: float) -> list[tuple[datetime, Q_]]:
    # Baseline 1000 ohm (one reading, day 0); the latest window (day 100) holds only ``last``.
    return [_r(0, 1000), _r(100, last)]


def test_rise_on_the_edge_is_not_flagged_and_just_past_is() -> None:
    # Limit = baseline mean 1000 x (1 + 30 %) = 1300 ohm; the latest mean equal to it passes.
    trends, _ = contact_trends({"L1:0": _rise_series(1300.0)}, _settings(), "OpenNerve IPG")
    assert Code.STIM_IMPEDANCE_RISING.value not in _codes(trends[0].findings)
    trends, _ = contact_trends({"L1:0": _rise_series(1300.01)}, _settings(), "OpenNerve IPG")
    rising = [f for f in trends[0].findings if f.code is Code.STIM_IMPEDANCE_RISING]
    assert len(rising) == 1 and rising[0].level is Level.SOFT
    assert "FDA 2025" in rising[0].source and "L1:0" in rising[0].message


def test_rise_needs_an_earlier_window_that_does_not_overlap() -> None:
    # Two readings 20 d apart: the earlier one is inside the latest window: no baseline.
    trends, _ = contact_trends({"c": [_r(0, 500), _r(20, 4000)]}, _settings(), "OpenNerve IPG")
    assert Code.STIM_IMPEDANCE_RISING.value not in _codes(trends[0].findings)


def test_abrupt_drop_edge() -> None:
    # Prior rolling mean (days 0 and 10 in one window) = (1000 + 1000) / 2 = 1000 ohm;
    # floor = 1000 x (1 - 30 %) = 700 ohm. 700 passes; 699.99 is an abrupt drop.
    for last, flagged in ((700.0, False), (699.99, True)):
        trends, _ = contact_trends({"c": [_r(0, 1000), _r(10, 1000), _r(12, last)]},
                                   _settings(), "OpenNerve IPG")  # fmt: skip
        assert (Code.STIM_IMPEDANCE_DROP.value in _codes(trends[0].findings)) is flagged


def test_short_and_open_edges_for_a_model_with_thresholds() -> None:
    # OpenNerve: short below 450 ohm, open above 5 kOhm; equal to either passes.
    for ohm, code in ((450.0, None), (449.9, Code.STIM_IMPEDANCE_SHORT),
                      (5000.0, None), (5000.1, Code.STIM_IMPEDANCE_OPEN)):  # fmt: skip
        trends, extra = contact_trends({"c": [_r(0, ohm)]}, _settings(), "OpenNerve IPG")
        hard = [f for f in trends[0].findings if f.level is Level.HARD]
        assert [f.code for f in hard] == ([code] if code else [])
        assert extra == ()


def test_model_without_thresholds_says_the_check_was_not_made() -> None:
    trends, extra = contact_trends({"c": [_r(0, 100.0)]}, _settings(), "Proclaim XR")
    assert not [f for f in trends[0].findings if f.level is Level.HARD]
    assert [f.code for f in extra] == [Code.STIM_INPUT_MISSING]
    assert "short and open-circuit impedance thresholds" in extra[0].message


def test_an_open_circuit_is_a_fracture_finding_not_a_number() -> None:
    # Numbers at days 0 and 10 (1000 ohm each); open circuit read on day 12. The open reading
    # stays out of the mean (still (1000 + 1000) / 2 = 1000 ohm) and is the only finding: the
    # older numbers describe a lead that is gone.
    readings = {"c": [_r(0, 1000), _r(10, 1000)]}
    trends, _ = contact_trends(readings, _settings(), "OpenNerve IPG",
                               {"c": [T0 + timedelta(days=12)]})  # fmt: skip
    (t,) = trends
    assert t.open_now and t.latest_at == T0 + timedelta(days=12)
    assert [float(p.mean.to("ohm").magnitude) for p in t.points] == [1000.0, 1000.0]
    assert [(f.level, f.code) for f in t.findings] == [(Level.HARD, Code.STIM_IMPEDANCE_OPEN)]
    assert "open circuit on 2020-01-13" in t.findings[0].message
    assert "fracture" in t.findings[0].message and t.findings[0].source


def test_an_open_circuit_without_any_number_and_on_a_model_without_thresholds() -> None:
    # The open flag does not need the model's open threshold: the IPG or printout said so.
    trends, extra = contact_trends({}, _settings(), "Proclaim XR", {"L1:3": [T0]})
    (t,) = trends
    assert t.points == () and t.open_now and t.latest_at == T0
    assert [f.code for f in t.findings] == [Code.STIM_IMPEDANCE_OPEN]
    assert [f.code for f in extra] == [Code.STIM_INPUT_MISSING]  # short/open thresholds


def test_a_number_after_an_open_circuit_is_judged_as_a_number_again() -> None:
    # Open on day 0, then 800 ohm on day 5 (reconnected): the latest reading is a number.
    # Edge: an open reading at the same time as a number counts as the latest (open_now).
    trends, _ = contact_trends({"c": [_r(5, 800)]}, _settings(), "OpenNerve IPG", {"c": [T0]})
    assert not trends[0].open_now and trends[0].findings == ()
    assert trends[0].open_circuits == (T0,)
    same, _ = contact_trends({"c": [_r(5, 800)]}, _settings(), "OpenNerve IPG",
                             {"c": [T0 + timedelta(days=5)]})  # fmt: skip
    assert same[0].open_now


@given(st.lists(st.floats(100, 20000), min_size=1, max_size=30),
       st.lists(st.floats(0.1, 60), min_size=30, max_size=30))  # fmt: skip
def test_rolling_mean_lies_between_the_window_min_and_max(values, gaps) -> None:
    t, readings = 0.0, []
    for v, g in zip(values, gaps, strict=False):
        t += g
        readings.append(_r(t, v))
    for p in rolling_means(readings, Q_(28, "d")):
        inside = [float(z.magnitude) for at, z in readings
                  if p.at - timedelta(days=28) < at <= p.at]  # fmt: skip
        assert min(inside) - 1e-6 <= float(p.mean.magnitude) <= max(inside) + 1e-6


def test_shipped_settings_load_with_sources() -> None:
    s = build_trend_settings("stimulator_clinic.toml", packaged("stimulator_clinic.toml"))
    assert float(s.window.to("d").magnitude) == 28.0
    assert "FDA" in s.sources["window"] and "PRODUCT CHOICE" in s.sources["rise"]
    assert s.for_model("opennerve ipg") is not None and s.for_model("Senza") is None


@pytest.mark.parametrize("change, field", [
    ({"trend": {"window": "28 d"}}, "trend.window_source"),
    ({"trend": {"window": "-1 d", "window_source": "x"}}, "trend.window"),
    ({"trend": {"drop": "100 %", "drop_source": "x"}}, "trend.drop"),
])  # fmt: skip
def test_settings_refuse_bad_values(change: dict, field: str) -> None:
    data = packaged("stimulator_clinic.toml")
    data = {**data, "trend": {**data["trend"], **change["trend"]}}
    if "window_source" not in change["trend"] and field.endswith("_source"):
        del data["trend"]["window_source"]
    with pytest.raises(InputError) as err:
        build_trend_settings("f", data)
    assert err.value.field.endswith(field)
