"""Read stimulator scenario files (TOML) into
:class:`thecal.implant.stimulator_scenario_file.StimulatorScenario`, and the MRI labelling
tables (``[[mri]]`` in ``stimulators.toml``). Shipped scenarios live in
``thecal/data/scenarios/stimulator`` (outside the folder the pump scenarios are listed from).
"""

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from thecal.adapters.data_files import packaged
from thecal.adapters.plan_files import validation_error
from thecal.implant.stimulator_scenario_file import StimulatorScenario
from thecal.units import InputError

_FOLDER = ("scenarios", "stimulator")


def mri_entries() -> list[dict[str, Any]]:
    """The shipped ``[[mri]]`` labelling tables."""
    entries = packaged("stimulators.toml").get("mri", [])
    return list(entries) if isinstance(entries, list) else []


def parse_stimulator_scenario(data: dict[str, Any]) -> StimulatorScenario:
    try:
        return StimulatorScenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, StimulatorScenario) from exc


def stimulator_scenario_names() -> list[str]:
    folder = resources.files("thecal.data").joinpath(*_FOLDER)
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml"))


def is_stimulator_ref(ref: str) -> bool:
    """Whether ``ref`` names a stimulator scenario: a shipped stimulator name, or a readable
    TOML file with ``leads`` and ``groups`` (a pump scenario has neither)."""
    path = Path(ref)
    if path.is_file():
        try:
            with path.open("rb") as fh:
                doc = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError):
            return False  # the pump reader names the error
        return "leads" in doc and "groups" in doc
    file = ref if ref.endswith(".toml") else f"{ref}.toml"
    return not path.exists() and file in stimulator_scenario_names()


def find_stimulator_scenario(ref: str) -> tuple[str, StimulatorScenario]:
    """A path if it exists, else a shipped stimulator scenario name. Returns (label, scenario)."""
    path = Path(ref)
    if path.exists():
        try:
            with path.open("rb") as fh:
                return str(path), parse_stimulator_scenario(tomllib.load(fh))
        except tomllib.TOMLDecodeError as exc:
            raise InputError("scenario", f"{path}: not valid TOML ({exc})", "a TOML file") from exc
        except IsADirectoryError as exc:
            raise InputError("scenario", f"{path} is a directory", "a scenario file") from exc
    file = ref if ref.endswith(".toml") else f"{ref}.toml"
    if file not in stimulator_scenario_names():
        raise InputError(
            "scenario",
            f"no file and no shipped stimulator scenario called {ref!r}",
            "a path, or one of: " + ", ".join(stimulator_scenario_names()),
        )
    text = resources.files("thecal.data").joinpath(*_FOLDER, file).read_text(encoding="utf-8")
    return ref, parse_stimulator_scenario(tomllib.loads(text))


__all__ = [
    "find_stimulator_scenario",
    "is_stimulator_ref",
    "mri_entries",
    "parse_stimulator_scenario",
    "stimulator_scenario_names",
]
