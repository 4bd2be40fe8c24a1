"""The strict parser: exactly one finite decimal and one allow-listed unit, every other input
refused with an error naming the field (and, where one exists, the form to write)."""

import math
from typing import Any

import numpy as np
import pytest

from thecal.units import (
    MAX_EXPONENT,
    MAX_LENGTH,
    MAX_MAGNITUDE,
    MIN_MAGNITUDE,
    Q_,
    Dimension,
    InputError,
    known_unit,
    parse_quantity,
    to_ucum,
    unit_from_ucum,
)
from thecal.units import parse as parse_module

V, D, T = Dimension.VOLUME, Dimension.DOSE_RATE, Dimension.TIME
FIELD = "refill.withdrawn"


def refused(value: Any, dim: Dimension = V, **kw: Any) -> InputError:
    with pytest.raises(InputError) as err:
        parse_quantity(value, FIELD, dim, **kw)
    assert err.value.field.startswith(FIELD), err.value
    assert str(err.value).startswith(FIELD)
    assert err.value.expected, err.value  # a plan file's error says what to write instead
    return err.value


# --- accepted -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dim", "magnitude", "ucum"),
    [
        ("2.5 mL", V, 2.5, "mL"),
        ("  20 mL\t", V, 20.0, "mL"),
        ("0 mL", V, 0.0, "mL"),
        ("20mL", V, 20.0, "mL"),
        ("2.5\u00a0mL", V, 2.5, "mL"),  # a no-break space, as some keyboards type it
        ("+1 mL", V, 1.0, "mL"),
        ("1e-3 mL", V, 0.001, "mL"),
        ("1.5E2 uL", V, 150.0, "uL"),
        ("10 µL", V, 10.0, "uL"),
        ("3 mg / d", D, 3.0, "mg/d"),
        ("0.1 mg/hr", D, 0.1, "mg/h"),
        ("25 mcg/mL", Dimension.CONCENTRATION, 25.0, "ug/mL"),
        ("0.5 mL/h", Dimension.FLOW_RATE, 0.5, "mL/h"),
        ("0.0026 mL/cm", Dimension.VOLUME_PER_LENGTH, 0.0026, "mL/cm"),
        ("35 cm", Dimension.LENGTH, 35.0, "cm"),
        ("50 mcg", Dimension.MASS, 50.0, "ug"),
        ("5 year", T, 5.0, "a"),
        ("14 days", T, 14.0, "d"),
        ("10 min", T, 10.0, "min"),
        ("30 %", Dimension.DIMENSIONLESS, 30.0, "%"),
        ("0.5", Dimension.DIMENSIONLESS, 0.5, "1"),
    ],
)
def test_accepted_forms(text: str, dim: Dimension, magnitude: float, ucum: str) -> None:
    q = parse_quantity(text, "x", dim)
    assert q.magnitude == pytest.approx(magnitude) and to_ucum(q) == ucum


def test_negative_zero_is_stored_as_zero() -> None:
    q = parse_quantity("-0 mL", FIELD, V)
    assert q.magnitude == 0.0 and math.copysign(1.0, q.magnitude) == 1.0


def test_a_field_may_allow_negative_values() -> None:
    assert parse_quantity("-2 min", "clock.offset", T, allow_negative=True).magnitude == -2.0
    assert parse_quantity(Q_(-1.0, "h"), "clock.offset", T, allow_negative=True).magnitude == -1


def test_json_pair_and_dimensionless_numbers() -> None:
    assert parse_quantity({"value": 2, "unit": "ug/d"}, "dose", D) == Q_(2.0, "ug/d")
    assert parse_quantity({"value": 0.5, "unit": "1"}, "f", Dimension.DIMENSIONLESS) == 0.5
    assert parse_quantity(0.25, "f", Dimension.DIMENSIONLESS).magnitude == 0.25


# --- refused: one test per class, the field named ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["nan mL", "NaN mL", "inf mL", "-inf mL", "Infinity mL", "infinity", "nan", "1e999 mL"],
)
def test_nan_and_infinity_are_refused(text: str) -> None:
    err = refused(text)
    assert "finite" in err.message or "exponent" in err.message  # 1e999: the exponent bound


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**400, np.float64("nan")])
def test_non_finite_numbers_are_refused(value: Any) -> None:
    assert "finite" in refused(value, Dimension.DIMENSIONLESS).message
    assert "finite" in refused({"value": value, "unit": "mL"}).message


@pytest.mark.parametrize(
    "q", [Q_(math.nan, "mL"), Q_(math.inf, "mL"), Q_(np.array([1.0, math.nan]), "mL")]
)
def test_non_finite_pint_quantities_are_refused(q: Any) -> None:
    assert "finite" in refused(q).message


@pytest.mark.parametrize(
    "text",
    ["2 mL + 3 mL", "5 mL * 9**9**9", "2 * 3 mL", "(2) mL", "2 mL - 1 mL", "2 mL / 2",
     "2**3 mL", "2 mL^2", "1=1 mL"],
)  # fmt: skip
def test_arithmetic_is_refused(text: str) -> None:
    err = refused(text)
    assert "one number and one unit" in err.message and err.expected


def test_exponent_bound_is_inclusive() -> None:
    # The written exponent's bound exactly is accepted (both signs); one past it is refused.
    # 1e-10 * 1e30 = 1e20 and 1e10 * 1e-30 = 1e-20: inside the magnitude bounds.
    assert parse_quantity(f"0.0000000001e{MAX_EXPONENT} mL", FIELD, V).magnitude == 1e20
    assert parse_quantity(f"10000000000e-{MAX_EXPONENT} mL", FIELD, V).magnitude == 1e-20
    assert parse_quantity(f"1e-0{MAX_EXPONENT - 10} mL", FIELD, V).magnitude == 1e-20
    for text in (f"1e{MAX_EXPONENT + 1} mL", f"1e-{MAX_EXPONENT + 1} mL", "1e0031 mL", "1e-400"):
        assert f"-{MAX_EXPONENT}..{MAX_EXPONENT}" in refused(text).message


def test_magnitude_bounds_are_inclusive() -> None:
    assert MAX_MAGNITUDE == 1e20 and MIN_MAGNITUDE == 1e-20
    for ok in ("1e20 mL", "100000000000000000000 mL", "1e-20 mL", "0 mL", "0.0e-5 mL"):
        parse_quantity(ok, FIELD, V)
    parse_quantity({"value": MAX_MAGNITUDE, "unit": "mL"}, FIELD, V)
    for too_big in ("1.0000001e20 mL", "100000000000000000001000 mL", {"value": 1e21, "unit": "mL"},
                    {"value": 10**21, "unit": "mL"}):  # fmt: skip
        assert "larger than 1e+20" in refused(too_big).message
    for too_small in ("9.9e-21 mL", "0.000000000000000000001 mL", {"value": 5e-324, "unit": "mL"}):
        assert "below 1e-20; write 0" in refused(too_small).message


@pytest.mark.parametrize(
    ("text", "advice"),
    [
        ("2,5 mL", "write 2.5 mL"),
        ("0,25 mL", "write 0.25 mL"),
        ("1,000 mg/d", "write 1000 mg/d"),
        ("1,000,000 mg/d", "write 1000000 mg/d"),
    ],
)
def test_commas_are_refused_with_the_form_to_write(text: str, advice: str) -> None:
    err = refused(text, D if "mg" in text else V)
    assert "comma" in err.message and advice in err.message


def test_naked_decimal_is_refused_with_a_leading_zero_suggested() -> None:
    assert "write 0.5 mL" in refused(".5 mL").message
    assert "write -0.5 mL" in refused("-.5 mL").message


@pytest.mark.parametrize(
    ("text", "hint"),
    [("4 gallon", None), ("2 L", "mL"), ("2 cc", "mL"), ("1 g", "mg"), ("2 ML", "mL"),
     ("3 MG/D", "mg/d"), ("3 blorps/d", None), ("1 floz", None)],
)  # fmt: skip
def test_units_off_the_list_are_refused(text: str, hint: str | None) -> None:
    err = refused(text, D if "/" in text else V)
    assert "unknown unit" in err.message and (err.expected or "").startswith("one of")
    if hint:
        assert f"write {hint!r}" in err.message


def test_negative_is_refused_by_default() -> None:
    assert "negative" in refused("-1 mL").message
    assert "negative" in refused({"value": -1, "unit": "mL"}).message
    assert "negative" in refused(Q_(-1.0, "mL")).message
    assert "negative" in refused(-0.5, Dimension.DIMENSIONLESS).message


@pytest.mark.parametrize(
    "value",
    ["", "   ", "mL", "2", "2 3 mL", "2..5 mL", "5. mL", "٣ mL", "2 mL mL", "0x10 mL", "1_000 mL",
     "2 mL/h/d", True, None, [2, "mL"], b"2 mL", {"value": 2}, {"value": "2", "unit": "mL"},
     {"value": 2, "unit": 3}, {"value": True, "unit": "mL"}, {"value": 2, "unit": "mL", "x": 1},
     {"value": 2, "unit": ""}, 2],
)  # fmt: skip
def test_other_malformed_values_are_refused(value: Any) -> None:
    refused(value)


def test_a_dose_without_time_base_says_so() -> None:
    assert "time base" in refused("60 mcg", D).message


# --- the structural bound ----------------------------------------------------------------------


def test_length_bound_is_inclusive() -> None:
    text = "0" * (MAX_LENGTH - len("1 mL")) + "1 mL"
    assert len(text) == MAX_LENGTH and parse_quantity(text, FIELD, V).magnitude == 1.0
    err = refused("0" + text)
    assert f"{MAX_LENGTH + 1} characters; at most {MAX_LENGTH}" in err.message
    long_unit = {"value": 1, "unit": "m" * (MAX_LENGTH + 1)}
    assert "too long" in refused(long_unit).message


def test_over_long_text_is_refused_before_any_other_work(monkeypatch: pytest.MonkeyPatch) -> None:
    class Untouchable:
        def fullmatch(self, _: str) -> None:
            raise AssertionError("the regular expression ran on over-long text")

        def search(self, _: str) -> None:
            raise AssertionError("a diagnosis ran on over-long text")

        match = search

    for name in ("_QUANTITY", "_COMMA_NUMBER", "_ARITHMETIC", "_NOT_FINITE", "_NAKED_DECIMAL"):
        monkeypatch.setattr(parse_module, name, Untouchable())
    huge = "5 mL * 9**9**9 " * 700_000  # about 10 MB
    err = refused(huge)
    assert "too long" in err.message and huge[:20] not in str(err)  # the text is not echoed
    refused(" " * (MAX_LENGTH + 1))  # not even stripped first


# --- the link's and the log's unit lookup ------------------------------------------------------


def test_unit_from_ucum_is_the_allow_list() -> None:
    assert unit_from_ucum("ug/d") == Q_(1, "ug/d").units and unit_from_ucum("1") is not None
    for code in ("gallon", "mL**9**9**9", "m" * 1000, "L", ""):
        assert unit_from_ucum(code) is None
    assert known_unit("milliliter") == Q_(1, "mL").units and known_unit("mL + mL") is None
