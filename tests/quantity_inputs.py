"""Hypothesis strategies for the entry-point fuzz tests: random and adversarial quantity text
and numbers, and a JSON reader that refuses what Python's json lets through (NaN, Infinity)."""

import json
import math
from typing import Any

from hypothesis import strategies as st

from thecal.units.table import UNITS

NUMBERS = ["2.5", "0", "-1", "+3", ".5", "5.", "1e3", "1e-3", "1e999", "1e21", "9" * 70, "nan",
           "NaN", "inf", "-Infinity", "2,5", "1,000", "1.000,5", "٣", "0x1F", "1_0", "²", "1e",
           "9**9**9", "(2)", "--1", "½", "1/2"]  # fmt: skip
BAD_UNITS = ["gallon", "L", "cc", "g", "mg/kg/d", "ML", "mcg/d/d", "m**3", "degC", "percent",
             "dimensionless", "furlong/fortnight", "µ", "/d", "mg/", "mL ** 9"]  # fmt: skip
GLUE = ["", " ", "  ", "\t", "\u00a0", "\n", " + ", " * ", "**", " - ", "/", ",", "e", "(", ")"]

adversarial = st.lists(st.sampled_from([*NUMBERS, *UNITS, *BAD_UNITS, *GLUE]), max_size=8).map(
    "".join
)


def plausible(units: list[str]) -> st.SearchStrategy[str]:
    """Well-formed text in ``units`` (accepted, unless a finding or a range check refuses)."""
    number = st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda x: f"{x:.3g}")
    return st.builds(lambda n, u: f"{n} {u}", number, st.sampled_from(units))


def quantity_text(units: list[str]) -> st.SearchStrategy[str]:
    """Mostly adversarial text, some random text, some plausible values in ``units``."""
    return st.one_of(adversarial, st.text(max_size=80), plausible(units), st.sampled_from(NUMBERS))


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 2.5, 20, -1, 1e308, 10**400]),
)


def _refuse(name: str) -> Any:
    raise AssertionError(f"{name} in the output")


def strict_loads(text: str) -> Any:
    """``json.loads`` that fails on NaN / Infinity and on numbers beyond float range."""

    def number(s: str) -> float:
        value = float(s)
        assert math.isfinite(value), s
        return value

    return json.loads(text, parse_constant=_refuse, parse_float=number)


def all_finite(data: Any) -> bool:
    """Every number in a JSON-like structure is finite."""
    if isinstance(data, dict):
        return all(all_finite(v) for v in data.values())
    if isinstance(data, list | tuple):
        return all(all_finite(v) for v in data)
    if isinstance(data, float):
        return math.isfinite(data)
    return True
