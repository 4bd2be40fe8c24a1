"""Units: one pint registry, parsing with field-named errors, and UCUM codes for output."""

from thecal.units.errors import InputError
from thecal.units.format import fmt
from thecal.units.parse import (
    Dimension,
    check_dimension,
    parse_quantity,
)
from thecal.units.registry import HOUR, ML, ML_PER_DAY, ML_PER_HOUR, Q_, Quantity, ureg
from thecal.units.ucum import to_ucum, ucum_json

__all__ = [
    "HOUR",
    "ML",
    "ML_PER_DAY",
    "ML_PER_HOUR",
    "Q_",
    "Dimension",
    "InputError",
    "Quantity",
    "check_dimension",
    "fmt",
    "parse_quantity",
    "to_ucum",
    "ucum_json",
    "ureg",
]
