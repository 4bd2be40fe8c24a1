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
    """Shipped drug library, then the files the configuration file names, then
    ``$THECAL_LIBRARY`` (a path), then each ``extra`` file (``--library``); later layers win."""
    from thecal.adapters.config import config_library_files

    layers: list[tuple[str, dict[str, Any]]] = [("thecal/data/drugs.toml", packaged("drugs.toml"))]
    paths: list[Path] = config_library_files()
    env = os.environ.get(LIBRARY_ENV)
    if env:
        paths.append(Path(env))
    paths.extend(extra or [])
    for p in paths:
        layers.append((str(p), read_toml(p, "library")))
    return build_library(layers)


def load_catalog() -> DeviceCatalog:
    return build_catalog("thecal/data/devices.toml", packaged("devices.toml"))


def check_library_file(path: Path | None = None) -> tuple[DrugLibrary | None, list[InputError]]:
    """Validate an institution library file layered over the shipped library (or, with no
    ``path``, the shipped library, ``$THECAL_LIBRARY`` included). Returns the library (None on
    errors) and every error, each naming ``<file>: <path in the file>``."""
    try:
        if path is None:
            return load_library(), []
        layers: list[tuple[str, dict[str, Any]]] = [
            ("thecal/data/drugs.toml", packaged("drugs.toml")),
            (str(path), read_toml(path, "library")),
        ]
        return build_library(layers), []
    except LibraryError as exc:
        return None, list(exc.errors)
    except InputError as exc:
        return None, [exc]


def packaged_text(name: str) -> str:
    """Text of a file shipped in ``thecal/data`` (``name`` may include a sub-folder)."""
    node = resources.files("thecal.data")
    for part in name.split("/"):
        node = node.joinpath(part)
    return node.read_text(encoding="utf-8")


def example_names() -> list[str]:
    """The example plans shipped in ``thecal/data/examples`` (file names, sorted)."""
    folder = resources.files("thecal.data").joinpath("examples")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml"))


def example_plan(name: str) -> dict[str, Any]:
    """A shipped example plan, parsed (``name`` as listed by :func:`example_names`)."""
    if name not in example_names():
        raise InputError("example", f"no example called {name!r}", ", ".join(example_names()))
    return tomllib.loads(packaged_text(f"examples/{name}"))


def load_conversions() -> dict[str, Any]:
    """The shipped route/drug conversion table (``thecal/data/conversions.toml``)."""
    return packaged("conversions.toml")


__all__ = [
    "LibraryError",
    "check_library_file",
    "example_names",
    "example_plan",
    "load_catalog",
    "load_conversions",
    "load_library",
    "packaged",
    "packaged_text",
    "read_toml",
]
