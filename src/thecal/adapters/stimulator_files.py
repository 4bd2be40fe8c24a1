"""Load the stimulator catalog (shipped, then institution files) and stimulation program files
(TOML) for :mod:`thecal.stimulation`. Errors become one :class:`InputError` naming the field."""

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from thecal.adapters.data_files import packaged, read_toml
from thecal.adapters.plan_files import validation_error
from thecal.stimulation.catalog import (
    StimulatorCatalog,
    StimulatorCatalogError,
    build_stimulator_catalog,
)
from thecal.stimulation.program_file import StimulationFile
from thecal.units import InputError

SHIPPED = "thecal/data/stimulators.toml"


def load_stimulator_catalog(extra: list[Path] | None = None) -> StimulatorCatalog:
    """The shipped catalog with each ``extra`` institution file layered over it (same model:
    its keys win; ``[limits]`` key by key). Raises :class:`InputError` for the first error
    (with how many more)."""
    layers: list[tuple[str, dict[str, Any]]] = [(SHIPPED, packaged("stimulators.toml"))]
    for path in extra or []:
        layers.append((str(path), read_toml(path, "catalog")))
    try:
        return build_stimulator_catalog(layers)
    except StimulatorCatalogError as exc:
        first = exc.errors[0]
        more = len(exc.errors) - 1
        note = f" (and {more} more)" if more else ""
        raise InputError(first.field, first.message + note, first.expected) from exc


def load_stimulation_file(path: Path) -> StimulationFile:
    """Parse and validate a stimulation program file; errors name the field (or ``program``
    for a missing file or a TOML syntax error)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InputError("program", f"file not found: {path}", "a TOML program file") from exc
    except IsADirectoryError as exc:
        raise InputError("program", f"{path} is a directory", "a TOML program file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError("program", f"{path}: not valid TOML ({exc})", "a TOML file") from exc
    return parse_stimulation(data)


def parse_stimulation(data: dict[str, Any]) -> StimulationFile:
    """Validate parsed program data (the first error, naming its field)."""
    try:
        return StimulationFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, StimulationFile) from exc


__all__ = ["load_stimulation_file", "load_stimulator_catalog", "parse_stimulation"]
