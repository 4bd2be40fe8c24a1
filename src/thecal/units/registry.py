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


_UNIT_CACHE_SIZE = 4096


def _cache_unit_parsing(registry: "pint.UnitRegistry[Any]") -> None:
    """Remember each parsed unit string. pint caches only single unit names, so every
    ``q.to("mg/d")`` re-parses the compound string (~60 µs, most of a refill assessment's
    time). Safe because every unit is defined above, before the first parse; a pint without
    this private method keeps its own behaviour. Bounded: unit text typed by users is
    parsed too, so beyond ``_UNIT_CACHE_SIZE`` strings new ones are parsed, not kept."""
    parse = getattr(registry, "_parse_units_as_container", None)
    if parse is None:
        return
    cache: dict[tuple[str, Any, Any], Any] = {}

    def cached(input_string: str, as_delta: Any = True, case_sensitive: Any = None) -> Any:
        key = (input_string, as_delta, case_sensitive)
        found = cache.get(key)
        if found is None:
            found = parse(input_string, as_delta, case_sensitive)
            if len(cache) < _UNIT_CACHE_SIZE:
                cache[key] = found
        return found

    registry._parse_units_as_container = cached  # type: ignore[method-assign]


_cache_unit_parsing(ureg)

Quantity = pint.Quantity
Q_ = ureg.Quantity

# Units used in hot paths, parsed once: pint re-parses a unit string on every conversion (~60 µs).
ML = ureg.Unit("mL")
HOUR = ureg.Unit("h")
ML_PER_HOUR = ureg.Unit("mL/h")
ML_PER_DAY = ureg.Unit("mL/d")


def mass_unit(quantity: pint.Quantity) -> str:
    """The mass unit a quantity is written in: "mg" for 10 mg/mL, "mcg" for 25 mcg/mL.

    Doses derived from a concentration are shown in the unit the clinic wrote it in. A quantity
    without a mass unit (a volume) gives "mg", the usual unit of intrathecal doses.
    """
    mass = ureg.get_dimensionality("[mass]")
    for name, _ in quantity.unit_items():
        if ureg.get_dimensionality(name) == mass:  # a concentration has one mass unit
            return str(name)
    return "mg"
