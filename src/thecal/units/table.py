"""The units a value from outside may carry: an allow-list per dimension, parsed once.

Only units clinicians (and Thecal's own files) write for intrathecal therapy are accepted;
everything else (gallons, grams, litres, ``cc``) is refused by name, with the spelling to use.
A lookup is one dictionary access: user text never reaches pint's expression parser.
"""

from enum import Enum
from typing import Any

import pint

from thecal.units.registry import ureg


class Dimension(Enum):
    """Dimensions Thecal works with, each with an example a user can copy."""

    MASS = ("[mass]", "a mass such as '2.5 mg' or '50 mcg'")
    VOLUME = ("[length] ** 3", "a volume such as '20 mL'")
    LENGTH = ("[length]", "a length such as '35 cm'")
    TIME = ("[time]", "a duration such as '2 h' or '14 d'")
    CONCENTRATION = ("[mass] / [length] ** 3", "a concentration such as '10 mg/mL' or '25 mcg/mL'")
    DOSE_RATE = (
        "[mass] / [time]",
        "a dose rate with its time base, such as '2.5 mcg/d' or '0.1 mg/h'",
    )
    FLOW_RATE = ("[length] ** 3 / [time]", "a flow rate with its time base, such as '0.5 mL/h'")
    VOLUME_PER_LENGTH = ("[length] ** 2", "a volume per length such as '0.0026 mL/cm'")
    DIMENSIONLESS = ("", "a plain number or a percentage such as '30 %'")
    # Stimulation (spinal cord stimulators): thecal.stimulation.
    CURRENT = ("[current]", "a current such as '3.5 mA'")
    VOLTAGE = ("[length] ** 2 * [mass] / [current] / [time] ** 3", "a voltage such as '10 V'")
    IMPEDANCE = (
        "[length] ** 2 * [mass] / [current] ** 2 / [time] ** 3",
        "an impedance such as '800 Ohm'",
    )
    FREQUENCY = ("1 / [time]", "a frequency such as '50 Hz'")
    CHARGE = ("[current] * [time]", "a charge such as '1.5 uC' or a capacity such as '300 mAh'")
    AREA = ("[length] ** 2", "an area such as '0.1225 cm2' or '12.25 mm2'")
    CHARGE_DENSITY = ("[current] * [time] / [length] ** 2", "a charge density such as '30 uC/cm2'")
    ENERGY = ("[length] ** 2 * [mass] / [time] ** 2", "an energy such as '2.5 uJ'")
    POWER = ("[length] ** 2 * [mass] / [time] ** 3", "a power such as '50 uW'")

    def __init__(self, pint_dim: str, example: str) -> None:
        self.pint_dim = pint_dim
        self.example = example

    @property
    def dimensionality(self) -> Any:
        return (
            ureg.get_dimensionality(self.pint_dim) if self.pint_dim else ureg.get_dimensionality("")
        )


# Spellings → pint unit name. "µ" is the micro sign (U+00B5), "μ" the Greek mu (U+03BC): both
# reach us from keyboards. Output always says "mcg" (see format.py).
MASS = {"mg": "milligram", "mcg": "microgram", "ug": "microgram", "µg": "microgram",
        "μg": "microgram"}  # fmt: skip
VOLUME = {"mL": "milliliter", "ml": "milliliter", "uL": "microliter", "µL": "microliter",
          "μL": "microliter", "ul": "microliter"}  # fmt: skip
LENGTH = {"cm": "centimeter", "mm": "millimeter"}
# Durations: UCUM codes (us, ms, s, min, h, d, wk, mo, a) and the words the data files use
# ("5 year"); micro- and milliseconds for a stimulator's pulse width.
TIME = {"us": "microsecond", "µs": "microsecond", "μs": "microsecond", "ms": "millisecond",
        "s": "second", "min": "minute", "h": "hour", "hr": "hour", "d": "day", "wk": "week",
        "mo": "month", "a": "year", "y": "year"}  # fmt: skip
for _word in ("second", "minute", "hour", "day", "week", "month", "year"):
    TIME[_word] = TIME[_word + "s"] = _word
# A rate's time base: per minute, hour or day only (a dose "per week" is not a pump setting).
RATE_BASE = {k: v for k, v in TIME.items() if v in ("minute", "hour", "day")}
# Stimulation units. A battery capacity is written "mAh" (UCUM's "mA.h" has a point, which
# the one-number-one-unit reader does not accept).
CURRENT = {"mA": "milliampere", "uA": "microampere", "µA": "microampere", "μA": "microampere"}
VOLTAGE = {"V": "volt", "mV": "millivolt"}
IMPEDANCE = {"Ohm": "ohm", "ohm": "ohm", "kOhm": "kiloohm", "kohm": "kiloohm"}
FREQUENCY = {"Hz": "hertz", "kHz": "kilohertz"}
CHARGE = {"uC": "microcoulomb", "µC": "microcoulomb", "μC": "microcoulomb", "nC": "nanocoulomb",
          "mAh": "milliampere_hour"}  # fmt: skip
AREA = {"mm2": "millimeter ** 2", "cm2": "centimeter ** 2"}
ENERGY = {"uJ": "microjoule", "µJ": "microjoule", "mJ": "millijoule", "J": "joule"}
POWER = {"uW": "microwatt", "µW": "microwatt", "mW": "milliwatt"}
# A concentration is per millilitre; a catheter's volume per centimetre or millimetre.
PER_VOLUME = {"mL": "milliliter", "ml": "milliliter"}

# Spellings refused with the one to write instead (ISMP error-prone abbreviations, and units
# nobody means for an intrathecal pump).
INSTEAD = {"cc": "mL", "CC": "mL", "L": "mL", "l": "mL", "g": "mg", "gm": "mg",
           "ng": "mcg", "kg": "mg", "m": "cm", "hrs": "h", "sec": "s", "mins": "min",
           "dl": "mL", "dL": "mL"}  # fmt: skip


def _table() -> dict[str, tuple[Dimension, pint.Unit]]:
    units: dict[str, tuple[Dimension, pint.Unit]] = {}

    def add(dim: Dimension, spellings: dict[str, str]) -> None:
        for text, name in spellings.items():
            units[text] = (dim, ureg.Unit(name))

    def ratios(dim: Dimension, top: dict[str, str], bottom: dict[str, str]) -> None:
        add(dim, {f"{t}/{b}": f"{tn} / {bn}" for t, tn in top.items() for b, bn in bottom.items()})

    add(Dimension.MASS, MASS)
    add(Dimension.VOLUME, VOLUME)
    add(Dimension.LENGTH, LENGTH)
    add(Dimension.TIME, TIME)
    ratios(Dimension.CONCENTRATION, MASS, PER_VOLUME)
    ratios(Dimension.DOSE_RATE, MASS, RATE_BASE)
    ratios(Dimension.FLOW_RATE, VOLUME, RATE_BASE)
    ratios(Dimension.VOLUME_PER_LENGTH, VOLUME, LENGTH)
    units["%"] = (Dimension.DIMENSIONLESS, ureg.Unit("percent"))
    add(Dimension.CURRENT, CURRENT)
    add(Dimension.VOLTAGE, VOLTAGE)
    add(Dimension.IMPEDANCE, IMPEDANCE)
    add(Dimension.FREQUENCY, FREQUENCY)
    add(Dimension.CHARGE, CHARGE)
    add(Dimension.AREA, AREA)
    add(Dimension.ENERGY, ENERGY)
    add(Dimension.POWER, POWER)
    ratios(Dimension.CHARGE_DENSITY, {k: CHARGE[k] for k in ("uC", "µC", "μC", "nC")}, AREA)
    return units


# Every accepted unit text → (dimension, pint unit), built once at import.
UNITS: dict[str, tuple[Dimension, pint.Unit]] = _table()
DIMENSIONLESS = ureg.Unit("dimensionless")

# What an error shows as "units accepted here" (the common spellings, not every alias).
SHOWN: dict[Dimension, str] = {
    Dimension.MASS: "mg, mcg (or ug, µg)",
    Dimension.VOLUME: "mL, uL",
    Dimension.LENGTH: "cm, mm",
    Dimension.TIME: "s, min, h, d, wk, mo, y",
    Dimension.CONCENTRATION: "mg/mL, mcg/mL",
    Dimension.DOSE_RATE: "mg/d, mcg/d, mg/h, mcg/h",
    Dimension.FLOW_RATE: "mL/d, mL/h, uL/h",
    Dimension.VOLUME_PER_LENGTH: "mL/cm, uL/cm",
    Dimension.DIMENSIONLESS: "%, or no unit",
    Dimension.CURRENT: "mA, uA",
    Dimension.VOLTAGE: "V, mV",
    Dimension.IMPEDANCE: "Ohm, kOhm",
    Dimension.FREQUENCY: "Hz, kHz",
    Dimension.CHARGE: "uC, nC, mAh",
    Dimension.AREA: "mm2, cm2",
    Dimension.CHARGE_DENSITY: "uC/cm2, uC/mm2",
    Dimension.ENERGY: "uJ, mJ, J",
    Dimension.POWER: "uW, mW",
}


def lookup(unit: str) -> tuple[Dimension, pint.Unit] | None:
    """The dimension and pint unit of an accepted spelling (spaces around '/' ignored)."""
    return UNITS.get(unit.replace(" ", ""))


def instead(unit: str) -> str | None:
    """The accepted spelling to suggest for a refused one (``cc`` → ``mL``, ``MG/D`` → ``mg/d``)."""
    compact = unit.replace(" ", "")
    top, slash, bottom = compact.partition("/")
    top = INSTEAD.get(top, top)
    bottom = INSTEAD.get(bottom, bottom)
    guess = top + slash + bottom
    if guess in UNITS:
        return guess
    return _FOLDED.get(guess.lower())


# Case-folded spellings → the first accepted one ("ML" → "mL", not "ml").
_FOLDED = {k.lower(): k for k in reversed(UNITS)}
