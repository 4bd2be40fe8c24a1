"""Quantities are displayed as plain decimals: a nurse reads ``0.00001128 mL``, never
``1.128e-05 mL``; and what is displayed parses back through the strict parser."""

import math

from hypothesis import given
from hypothesis import strategies as st

from thecal.units import Q_, Dimension, fmt, parse_quantity
from thecal.units.format import plain


def test_small_and_large_numbers_have_no_exponent() -> None:
    # 1.128e-05 to 4 significant figures is 0.00001128; 1e4 is 10000; 12345 -> 1.234e4 (half
    # to even on the 4th figure) -> 12340.
    assert fmt(Q_(1.128e-05, "mL")) == "0.00001128 mL"
    assert fmt(Q_(10000, "mcg/mL")) == "10000 mcg/mL"
    assert plain(12345) == "12340"
    assert plain(0.1 + 0.2) == "0.3"
    assert plain(2.5) == "2.5" and plain(0) == "0" and plain(100) == "100"


def test_non_finite_values_are_shown_as_such() -> None:
    assert plain(math.inf) == "inf" and plain(math.nan) == "nan"


@given(st.floats(min_value=1e-9, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_what_is_shown_parses_back_within_its_rounding(x: float) -> None:
    shown = fmt(Q_(x, "mL"))
    assert "e" not in shown.split()[0]
    back = parse_quantity(shown, "volume", Dimension.VOLUME).to("mL").magnitude
    # 4 significant figures: the relative rounding error is at most 5e-4.
    assert abs(back - x) <= 5e-4 * x
