"""MRI for the virtual IPG, per labelling as data (``[[mri]]`` in
``src/thecal/data/stimulators.toml``): whether it has an MRI mode, whether entering it needs
every contact's impedance in range (no sign of lead fracture), whether stimulation runs in MRI
mode, and whether a scan outside MRI mode resets it to power-on defaults."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from thecal.units import InputError

_FLAGS = ("mri_mode", "integrity_required", "stimulation_in_mri_mode", "reset_outside_mri_mode")


@dataclass(frozen=True)
class MriLabelling:
    name: str
    mri_mode: bool
    integrity_required: bool
    stimulation_in_mri_mode: bool
    reset_outside_mri_mode: bool
    sources: tuple[tuple[str, str], ...]

    def source(self, key: str) -> str:
        return dict(self.sources).get(key, "")


def mri_labelling(name: str, entries: Sequence[Mapping[str, Any]]) -> MriLabelling:
    """The entry called ``name`` (case-insensitive) of the ``[[mri]]`` tables; every flag must
    be a boolean with its ``<flag>_source``. Raises :class:`InputError` naming the field."""
    for i, raw in enumerate(entries):
        if str(raw.get("name", "")).casefold() != name.strip().casefold():
            continue
        values: dict[str, bool] = {}
        sources: list[tuple[str, str]] = []
        for key in _FLAGS:
            value, source = raw.get(key), raw.get(f"{key}_source")
            if not isinstance(value, bool):
                raise InputError(f"mri[{i}].{key}", f"got {value!r}", "true or false")
            if not isinstance(source, str) or not source.strip():
                raise InputError(f"mri[{i}].{key}_source", "every value needs a source")
            values[key] = value
            sources.append((key, source))
        return MriLabelling(str(raw["name"]), **values, sources=tuple(sources))
    raise InputError(
        "device.mri_labelling",
        f"no MRI labelling called {name!r}",
        "one of: " + ", ".join(str(e.get("name")) for e in entries),
    )
