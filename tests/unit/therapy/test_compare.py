"""Edge semantics of the one limit comparison (thecal.therapy.compare)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal.therapy.compare import above, above_count, at_or_above, below, equal
from thecal.units import Q_


def test_a_maximum_allows_the_limit_itself() -> None:
    assert not above(Q_(20, "mg/d"), Q_(20, "mg/d"))
    assert above(Q_(20.001, "mg/d"), Q_(20, "mg/d"))


def test_units_are_converted_before_comparing() -> None:
    # 0.8 mcg/h x 24 h/d = 19.2 mcg/d: the same dose written two ways is at, not above, the limit
    assert not above(Q_(0.8, "ug/h"), Q_(19.2, "ug/d"))
    assert above(Q_(0.81, "ug/h"), Q_(19.2, "ug/d"))


def test_a_minimum_allows_the_limit_itself() -> None:
    assert not below(Q_(24, "h"), Q_(1, "d"))
    assert below(Q_(23.9, "h"), Q_(1, "d"))


def test_an_exclusive_ceiling_is_broken_at_the_ceiling() -> None:
    assert at_or_above(Q_(20, "mL"), Q_(20, "mL"))
    assert not at_or_above(Q_(19.99, "mL"), Q_(20, "mL"))


def test_counts() -> None:
    assert not above_count(3, 3)
    assert above_count(4, 3)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_break_every_limit(bad: float) -> None:
    assert above(Q_(bad, "mg/d"), Q_(20, "mg/d"))
    assert below(Q_(bad, "h"), Q_(24, "h"))
    assert at_or_above(Q_(bad, "mL"), Q_(20, "mL"))
    assert above_count(bad, 3)
    assert not equal(Q_(bad, "mL"), Q_(bad, "mL"))


@given(st.floats(min_value=1e-6, max_value=1e6), st.floats(min_value=1e-6, max_value=1e6))
def test_exactly_one_of_below_equal_above(v: float, m: float) -> None:
    value, limit = Q_(v, "mg/d"), Q_(m, "mg/d")
    states = [below(value, limit), equal(value, limit), above(value, limit)]
    assert states.count(True) == 1
