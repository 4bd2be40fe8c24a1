"""The stimulator catalog: leads, pulse generators (IPGs) and the charge limits, each value with
its source. Built from parsed data (reading files is the adapters' job); a value a vendor does
not publish is simply absent, and whoever needs it asks for it by name.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import pint

from thecal.therapy.compare import above, above_count
from thecal.units import Q_, Dimension, InputError, parse_quantity


class LeadKind(StrEnum):
    PERCUTANEOUS = "percutaneous"  # ring contacts: area 2 pi r h
    PADDLE = "paddle"  # flat contacts: the catalog gives the area


class BatteryKind(StrEnum):
    PRIMARY = "primary"
    RECHARGEABLE = "rechargeable"


_LEAD_QUANTITIES = {
    "contact_length": Dimension.LENGTH,
    "diameter": Dimension.LENGTH,
    "contact_area": Dimension.AREA,
    "spacing": Dimension.LENGTH,
}
_IPG_QUANTITIES = {
    "amplitude_min": Dimension.CURRENT,
    "amplitude_max": Dimension.CURRENT,
    "amplitude_step": Dimension.CURRENT,
    "voltage_max": Dimension.VOLTAGE,
    "pulse_width_min": Dimension.TIME,
    "pulse_width_max": Dimension.TIME,
    "rate_min": Dimension.FREQUENCY,
    "rate_max": Dimension.FREQUENCY,
    "available_voltage": Dimension.VOLTAGE,
    "capacity": Dimension.CHARGE,
    "cell_voltage": Dimension.VOLTAGE,
    "efficiency": Dimension.DIMENSIONLESS,
    "quiescent_power": Dimension.POWER,
    "eri_voltage": Dimension.VOLTAGE,
    "eos_voltage": Dimension.VOLTAGE,
    "longevity_typical": Dimension.TIME,
    # the impedance window the IPG can measure and its short threshold (virtual IPG, issue 12)
    "impedance_min": Dimension.IMPEDANCE,
    "impedance_max": Dimension.IMPEDANCE,
    "short_threshold": Dimension.IMPEDANCE,
}
_COUNTS = ("contacts", "low_readings")
_LIMIT_QUANTITIES = {
    "shannon_k": Dimension.DIMENSIONLESS,
    "shannon_k_damage": Dimension.DIMENSIONLESS,
    "charge_density_warning": Dimension.CHARGE_DENSITY,
}


@dataclass(frozen=True)
class Spec:
    """A catalog entry: ``values`` holds what is public, ``sources`` the source of each."""

    model: str
    name: str
    values: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def source(self, key: str) -> str:
        return self.sources.get(key, "")


@dataclass(frozen=True)
class LeadSpec(Spec):
    """``kind``: None when no source names it (a required input of the program file)."""

    kind: LeadKind | None = None


@dataclass(frozen=True)
class IpgSpec(Spec):
    battery: BatteryKind | None = None  # None: not public


@dataclass(frozen=True)
class Limits:
    """The institution's Shannon k (hard limit), the k where damage was seen (the institution's
    k may not exceed it) and the labelled charge-density warning, with sources."""

    shannon_k: float
    charge_density_warning: pint.Quantity
    shannon_k_damage: float
    sources: Mapping[str, str]


@dataclass(frozen=True)
class StimulatorCatalog:
    leads: tuple[LeadSpec, ...]
    ipgs: tuple[IpgSpec, ...]
    limits: Limits

    def lead(self, model: str, field_name: str) -> LeadSpec:
        return _find(self.leads, model, field_name, "lead")

    def ipg(self, model: str, field_name: str) -> IpgSpec:
        return _find(self.ipgs, model, field_name, "IPG")


S = TypeVar("S", bound=Spec)


def _find(specs: Sequence[S], model: str, field_name: str, what: str) -> S:
    for s in specs:
        if s.model.casefold() == model.strip().casefold():
            return s
    raise InputError(
        field_name,
        f"unknown {what} model {model!r}",
        "one of: " + ", ".join(s.model for s in specs),
    )


class StimulatorCatalogError(ValueError):
    """Every error of a stimulator catalog (or an institution file layered over it)."""

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors = tuple(errors)
        super().__init__("stimulator catalog errors:\n" + "\n".join(f"  {e}" for e in errors))


def _values(
    raw: Mapping[str, Any], where: str, table: Mapping[str, Dimension], errors: list[InputError]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Parsed values of ``table``'s keys and ``_COUNTS`` present in ``raw``, each with its
    ``<key>_source``."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key in [*table, *_COUNTS]:
        if key not in raw:
            continue
        try:
            if key in table:
                q = parse_quantity(raw[key], f"{where}.{key}", table[key])
                values[key] = (
                    float(q.to("").magnitude) if table[key] is Dimension.DIMENSIONLESS else q
                )
            else:
                count = raw[key]
                if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                    raise InputError(f"{where}.{key}", f"got {count!r}", "a whole number above 0")
                values[key] = count
        except InputError as exc:
            errors.append(exc)
            continue
        src = raw.get(f"{key}_source")
        if not isinstance(src, str) or not src.strip():
            errors.append(InputError(f"{where}.{key}_source", "every value needs a source"))
        else:
            sources[key] = src
    known = {*table, *_COUNTS, "model", "name", "kind", "battery", "note"}
    for key in raw:
        base = key.removesuffix("_source")
        if base not in known:
            errors.append(InputError(f"{where}.{key}", "unknown key", ", ".join(sorted(known))))
    return values, sources


def _overlay(previous: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw``'s keys over ``previous``; a value given again without its ``_source`` drops
    the old source, so it cannot be credited to a source that never said it."""
    out = dict(previous)
    for key in raw:
        if not key.endswith("_source") and f"{key}_source" not in raw:
            out.pop(f"{key}_source", None)
    out.update(raw)
    return out


def _merged(
    layers: Sequence[tuple[str, Mapping[str, Any]]], section: str, errors: list[InputError]
) -> list[tuple[str, int, dict[str, Any]]]:
    """Entries of ``section`` over all layers: a later layer's entry with the same model
    replaces the earlier one's keys (an institution overrides the shipped catalog)."""
    by_model: dict[str, tuple[str, int, dict[str, Any]]] = {}
    for origin, data in layers:
        entries = data.get(section, [])
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            errors.append(InputError(f"{origin}: {section}", "must be a list of tables",
                                     f"[[{section}]] tables"))  # fmt: skip
            continue
        for i, raw in enumerate(entries):
            model = raw.get("model")
            key = model.casefold() if isinstance(model, str) else f"{origin}#{i}"
            previous = by_model.get(key, (origin, i, {}))[2]
            by_model[key] = (origin, i, _overlay(previous, raw))
    return list(by_model.values())


def build_stimulator_catalog(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> StimulatorCatalog:
    """The catalog from ``(origin, parsed TOML)`` layers, shipped first, later layers override
    by model (and ``[limits]`` key by key). Every value needs ``<key>_source``. Raises
    :class:`StimulatorCatalogError` with every error."""
    errors: list[InputError] = []
    leads: list[LeadSpec] = []
    for origin, i, raw in _merged(layers, "leads", errors):
        where = f"{origin}: leads[{i}]"
        values, sources = _values(raw, where, _LEAD_QUANTITIES, errors)
        # The kind decides how a contact's area is found (ring: diameter x length); a kind
        # with no source is left out: the program file must then give it.
        kind: LeadKind | None = None
        if "kind" in raw:
            try:
                kind = LeadKind(str(raw["kind"]))
            except ValueError:
                errors.append(
                    InputError(f"{where}.kind", f"got {raw['kind']!r}", "percutaneous, paddle")
                )
                continue
            src = raw.get("kind_source")
            if not isinstance(src, str) or not src.strip():
                errors.append(InputError(f"{where}.kind_source", "every value needs a source"))
                continue
            sources = {**sources, "kind": src}
        model = raw.get("model")
        if not isinstance(model, str) or not model.strip():
            errors.append(InputError(f"{where}.model", "is required"))
            continue
        leads.append(LeadSpec(model, str(raw.get("name", model)), values, sources, kind))
    ipgs: list[IpgSpec] = []
    for origin, i, raw in _merged(layers, "ipgs", errors):
        where = f"{origin}: ipgs[{i}]"
        values, sources = _values(raw, where, _IPG_QUANTITIES, errors)
        battery = None
        if "battery" in raw:
            try:
                battery = BatteryKind(str(raw["battery"]))
            except ValueError:
                errors.append(
                    InputError(
                        f"{where}.battery", f"got {raw['battery']!r}", "primary, rechargeable"
                    )
                )
                continue
        model = raw.get("model")
        if not isinstance(model, str) or not model.strip():
            errors.append(InputError(f"{where}.model", "is required"))
            continue
        ipgs.append(IpgSpec(model, str(raw.get("name", model)), values, sources, battery))
    limits_raw: dict[str, Any] = {}
    origin = layers[0][0] if layers else "catalog"
    for o, data in layers:
        if "limits" in data:
            if not isinstance(data["limits"], Mapping):
                errors.append(InputError(f"{o}: limits", "must be a table", "[limits]"))
                continue
            limits_raw = _overlay(limits_raw, data["limits"])
            origin = o
    values, sources = _values(limits_raw, f"{origin}: limits", _LIMIT_QUANTITIES, errors)
    for key in _LIMIT_QUANTITIES:
        if key not in values and not any(e.field.endswith(f"limits.{key}") for e in errors):
            errors.append(
                InputError(f"{origin}: limits.{key}", "is required", _LIMIT_QUANTITIES[key].example)
            )
    if errors:
        raise StimulatorCatalogError(errors)
    k, damage = values["shannon_k"], values["shannon_k_damage"]
    if above_count(k, damage):
        raise StimulatorCatalogError(
            [
                InputError(
                    f"{origin}: limits.shannon_k",
                    f"{k} is above {damage}, the lowest k where tissue damage was seen",
                    f"at most {damage}",
                )
            ]
        )
    if not above(values["charge_density_warning"], Q_(0, "uC/cm**2")):
        raise StimulatorCatalogError(
            [InputError(f"{origin}: limits.charge_density_warning", "must be above zero")]
        )
    return StimulatorCatalog(
        tuple(leads), tuple(ipgs), Limits(k, values["charge_density_warning"], damage, sources)
    )
