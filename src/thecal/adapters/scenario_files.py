"""Read scenario files (TOML) into :class:`thecal.implant.scenario.Scenario`.

Errors become one :class:`InputError` whose field is the dotted path in the file
(``actions[2].volume``), exactly as for plan files. Scenarios shipped with the package live in
``thecal/data/scenarios`` (the same files as ``scenarios/`` at the repository root).
"""

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from thecal.adapters.plan_files import validation_error
from thecal.implant.scenario import Scenario
from thecal.units import InputError

_FOLDER = "scenarios"


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """Validate parsed scenario data. Raises :class:`InputError` for the first error (the
    message says how many more there are)."""
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        error = validation_error(exc, Scenario)
        field = "scenario" if error.field == "plan" else error.field
        raise InputError(field, error.message, error.expected) from exc


def load_scenario(path: Path) -> Scenario:
    """Parse and validate the scenario file at ``path`` (errors name the field, or
    ``scenario`` for a missing file or a TOML syntax error)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InputError(
            "scenario", f"file not found: {path}", "a scenario file or a name from 'implant list'"
        ) from exc
    except IsADirectoryError as exc:
        raise InputError("scenario", f"{path} is a directory", "a scenario file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError("scenario", f"{path}: not valid TOML ({exc})", "a TOML file") from exc
    return parse_scenario(data)


def scenario_names() -> list[str]:
    """The scenarios shipped in the package (file names, sorted)."""
    folder = resources.files("thecal.data").joinpath(_FOLDER)
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml"))


def packaged_scenario_text(name: str) -> str:
    """Text of a shipped scenario (``name`` with or without ``.toml``)."""
    file = name if name.endswith(".toml") else f"{name}.toml"
    if file not in scenario_names():
        raise InputError(
            "scenario",
            f"no file and no shipped scenario called {name!r}",
            "a path, or one of: " + ", ".join(scenario_names()),
        )
    node = resources.files("thecal.data").joinpath(_FOLDER).joinpath(file)
    return node.read_text(encoding="utf-8")


def packaged_scenario(name: str) -> Scenario:
    """A shipped scenario, validated."""
    text = packaged_scenario_text(name)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # a broken shipped file is a bug; say which
        raise InputError("scenario", f"{name}: not valid TOML ({exc})") from exc
    return parse_scenario(data)


def find_scenario(ref: str) -> tuple[str, Scenario]:
    """A path if it exists, else a shipped scenario name. Returns (label, scenario)."""
    path = Path(ref)
    if path.exists() or (path.suffix == ".toml" and ("/" in ref or "\\" in ref)):
        return str(path), load_scenario(path)
    return ref, packaged_scenario(ref)


def scenario_title(name: str) -> str:
    """The ``title`` of a shipped scenario (empty when it has none)."""
    data = tomllib.loads(packaged_scenario_text(name))
    title = data.get("title", "")
    return title if isinstance(title, str) else ""


__all__ = [
    "find_scenario",
    "load_scenario",
    "packaged_scenario",
    "packaged_scenario_text",
    "parse_scenario",
    "scenario_names",
    "scenario_title",
]
