import pytest

from thecal.units import Dimension, InputError, parse_quantity, to_ucum


@pytest.mark.parametrize("text", ["2.5 mcg/d", "2.5 ug/d", "2.5 µg/d", "2.5 μg/d", "2.5 mcg / day"])
def test_microgram_spellings_are_one_unit(text: str) -> None:
    q = parse_quantity(text, "dose", Dimension.DOSE_RATE)
    assert q.to("ug/d").magnitude == pytest.approx(2.5)
    assert to_ucum(q.to("ug/d")) == "ug/d"


@pytest.mark.parametrize(
    ("text", "dim", "ucum"),
    [
        ("10 mg/mL", Dimension.CONCENTRATION, "mg/mL"),
        ("0.5 mL/h", Dimension.FLOW_RATE, "mL/h"),
        ("1.2 mg/d", Dimension.DOSE_RATE, "mg/d"),
        ("3 mL/d", Dimension.FLOW_RATE, "mL/d"),
    ],
)
def test_ucum_codes(text: str, dim: Dimension, ucum: str) -> None:
    assert to_ucum(parse_quantity(text, "x", dim)) == ucum


def test_dose_without_time_base_is_an_error_naming_the_field() -> None:
    with pytest.raises(InputError) as err:
        parse_quantity("60 mcg", "schedule.steps[1].dose", Dimension.DOSE_RATE)
    assert err.value.field == "schedule.steps[1].dose"
    assert "time base" in str(err.value)


def test_wrong_dimension_names_field_and_expected_dimension() -> None:
    with pytest.raises(InputError) as err:
        parse_quantity("0.5 mL/h", "admixture[0].concentration", Dimension.CONCENTRATION)
    assert "admixture[0].concentration" in str(err.value)
    assert "concentration" in (err.value.expected or "")


def test_bare_number_is_refused_for_dimensioned_fields() -> None:
    with pytest.raises(InputError, match="no unit"):
        parse_quantity(20, "fill.volume", Dimension.VOLUME)


def test_unknown_unit() -> None:
    with pytest.raises(InputError, match="unknown unit"):
        parse_quantity("3 blorps/d", "dose", Dimension.DOSE_RATE)


@pytest.mark.parametrize(("text", "days"), [("2y", 730.5), ("6 mo", 182.625), ("90 d", 90.0)])
def test_simulation_spans(text: str, days: float) -> None:
    q = parse_quantity(text, "until", Dimension.TIME)
    assert q.to("d").magnitude == pytest.approx(days)
    assert to_ucum(parse_quantity("1 y", "x", Dimension.TIME)) == "a"
