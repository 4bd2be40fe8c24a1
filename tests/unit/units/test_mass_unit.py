"""units.mass_unit: the mass unit a concentration or dose is written in."""

import pytest

from thecal.units import Q_, mass_unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 mg/mL", "milligram"),
        ("25 mcg/mL", "mcg"),
        ("500 microgram/mL", "microgram"),
        ("3 mg/d", "milligram"),
        ("2 mL", "mg"),  # no mass unit: the usual unit of intrathecal doses
    ],
)
def test_mass_unit_is_the_unit_written(text: str, expected: str) -> None:
    assert mass_unit(Q_(text)) == expected


def test_mass_unit_converts_back() -> None:
    # 25 mcg/mL × 0.5 mL/d = 12.5 mcg/d, shown in the concentration's own unit
    dose = Q_("25 mcg/mL") * Q_("0.5 mL/d")
    assert dose.to(f"{mass_unit(Q_('25 mcg/mL'))}/d").magnitude == pytest.approx(12.5)
