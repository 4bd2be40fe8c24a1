"""Load the packaged data files and institution files (TOML) into core objects."""

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from thecal.devices.catalog import DeviceCatalog, build_catalog
from thecal.therapy.library import DrugLibrary, LibraryError, build_library
from thecal.units import InputError

LIBRARY_ENV = "THECAL_LIBRARY"


def packaged(name: str) -> dict[str, Any]:
    """A TOML file shipped in ``thecal/data``."""
    text = resources.files("thecal.data").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def read_toml(path: Path, field: str) -> dict[str, Any]:
    """Parse ``path``; errors name the file and, for syntax errors, the line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InputError(field, f"file not found: {path}", "a path to a TOML file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(field, f"{path}: not valid TOML ({exc})", "a TOML file") from exc


def load_library(extra: list[Path] | None = None) -> DrugLibrary:
    """Shipped drug library, then ``$THECAL_LIBRARY`` (a path), then each ``extra`` file."""
    layers: list[tuple[str, dict[str, Any]]] = [("thecal/data/drugs.toml", packaged("drugs.toml"))]
    paths: list[Path] = []
    env = os.environ.get(LIBRARY_ENV)
    if env:
        paths.append(Path(env))
    paths.extend(extra or [])
    for p in paths:
        layers.append((str(p), read_toml(p, "library")))
    return build_library(layers)


def load_catalog() -> DeviceCatalog:
    return build_catalog("thecal/data/devices.toml", packaged("devices.toml"))


__all__ = ["LibraryError", "load_catalog", "load_library", "packaged", "read_toml"]
