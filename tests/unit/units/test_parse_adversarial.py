"""Random and adversarial input to the parser: it answers a finite, non-negative quantity of the
expected dimension, or an InputError naming the field; never anything else."""

from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.quantity_inputs import BAD_UNITS, adversarial
from thecal.units import MAX_LENGTH, Q_, Dimension, InputError, parse_quantity, unit_from_ucum
from thecal.units.table import UNITS

FIELD = "schedule.dose"

any_text = st.one_of(adversarial, st.text(max_size=MAX_LENGTH + 8), st.text(max_size=2000))
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
)


def check(value: Any, dim: Dimension) -> None:
    try:
        q = parse_quantity(value, FIELD, dim)
    except InputError as exc:
        assert exc.field.startswith(FIELD) and str(exc).startswith(FIELD)
        return
    magnitude = np.asarray(q.magnitude, dtype=float)
    assert np.all(np.isfinite(magnitude)) and np.all(magnitude >= 0)
    assert q.dimensionality == dim.dimensionality


@settings(max_examples=300, deadline=None)
@given(any_text, st.sampled_from(list(Dimension)))
@example("5 mL * 9**9**9", Dimension.VOLUME)
@example("2 mL + 3 mL", Dimension.VOLUME)
@example("4 gallon", Dimension.VOLUME)
@example("inf mg/d", Dimension.DOSE_RATE)
def test_any_text(text: str, dim: Dimension) -> None:
    check(text, dim)


@settings(max_examples=150, deadline=None)
@given(
    numbers, st.sampled_from([*UNITS, *BAD_UNITS, "1", "UCUM"]), st.sampled_from(list(Dimension))
)
def test_any_json_pair_and_number(number: Any, unit: str, dim: Dimension) -> None:
    check({"value": number, "unit": unit}, dim)
    check(number, dim)


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(list(UNITS)))
def test_any_pint_quantity(number: float, unit: str) -> None:
    dim, pint_unit = UNITS[unit]
    check(Q_(number, pint_unit), dim)


accepted_magnitudes = st.one_of(st.just(0.0), st.floats(min_value=1e-20, max_value=1e20))


@settings(max_examples=150, deadline=None)
@given(accepted_magnitudes, st.sampled_from(list(UNITS)), st.sampled_from(["", " ", "  "]))
def test_every_repr_of_an_accepted_value_round_trips(number: float, unit: str, space: str) -> None:
    # Thecal writes quantities as "<float repr> <unit>" (plan text, the store): every value in
    # the magnitude window reads back exactly, in the same unit.
    dim, pint_unit = UNITS[unit]
    q = parse_quantity(f"{number!r}{space}{unit}", FIELD, dim)
    assert q.magnitude == number and q.units == pint_unit


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(list(UNITS)), st.text(max_size=40))
def test_ucum_lookup_never_evaluates(unit: str, junk: str) -> None:
    assert unit_from_ucum(unit) == UNITS[unit][1]
    found = unit_from_ucum(junk)
    assert found is None or found in {u for _, u in UNITS.values()} or junk == "1"
