"""Units: one pint registry, parsing with field-named errors, and UCUM codes for output."""

from thecal.units.errors import InputError, field_label, field_words, in_words
from thecal.units.format import fmt
from thecal.units.parse import (
    MAX_EXPONENT,
    MAX_LENGTH,
    MAX_MAGNITUDE,
    MIN_MAGNITUDE,
    check_dimension,
    parse_quantity,
)
from thecal.units.registry import HOUR, ML, ML_PER_DAY, ML_PER_HOUR, Q_, Quantity, mass_unit, ureg
from thecal.units.table import Dimension
from thecal.units.ucum import known_unit, to_ucum, ucum_json, unit_from_ucum

__all__ = [
    "HOUR",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_MAGNITUDE",
    "MIN_MAGNITUDE",
    "ML",
    "ML_PER_DAY",
    "ML_PER_HOUR",
    "Q_",
    "Dimension",
    "InputError",
    "Quantity",
    "check_dimension",
    "field_label",
    "field_words",
    "fmt",
    "in_words",
    "known_unit",
    "mass_unit",
    "parse_quantity",
    "to_ucum",
    "ucum_json",
    "unit_from_ucum",
    "ureg",
]
