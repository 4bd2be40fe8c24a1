"""The single pint registry. Every quantity in Thecal comes from here.

``mcg``, ``ug`` and ``µg`` all mean microgram; ``d`` is a day and ``h`` an hour, as in UCUM.
"""

from typing import Any

import pint

ureg: pint.UnitRegistry[Any] = pint.UnitRegistry(
    autoconvert_offset_to_baseunit=True,
    non_int_type=float,
)
# Clinical spellings. pint already reads "ug" (u = micro) and "µg"; "mcg" is the clinic's word.
ureg.define("mcg = microgram")
ureg.define("cc = milliliter")
# Simulation spans: "--until 2y", "6 mo" (UCUM writes a year as "a" and a month as "mo").
ureg.define("@alias year = y")
ureg.define("@alias month = mo")

Quantity = pint.Quantity
Q_ = ureg.Quantity

# Units used in hot paths, parsed once: pint re-parses a unit string on every conversion (~60 µs).
ML = ureg.Unit("mL")
HOUR = ureg.Unit("h")
ML_PER_HOUR = ureg.Unit("mL/h")
ML_PER_DAY = ureg.Unit("mL/d")
