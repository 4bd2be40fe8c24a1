"""Build the device catalog from parsed data (reading the file is the adapters' job)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pint

from thecal.therapy.pump import CatheterSpec, PumpKind, PumpSpec
from thecal.units import Dimension, InputError, parse_quantity


@dataclass(frozen=True)
class DeviceCatalog:
    pumps: tuple[PumpSpec, ...]
    catheters: tuple[CatheterSpec, ...]

    def pump(self, model: str, field_name: str = "pump.model") -> PumpSpec:
        for p in self.pumps:
            if p.model.casefold() == model.strip().casefold():
                return p
        raise InputError(
            field_name,
            f"unknown pump model {model!r}",
            "one of: " + ", ".join(p.model for p in self.pumps),
        )

    def catheter(self, model: str, field_name: str = "catheter.model") -> CatheterSpec:
        for c in self.catheters:
            if c.model.casefold() == model.strip().casefold():
                return c
        raise InputError(
            field_name,
            f"unknown catheter model {model!r}",
            "one of: " + ", ".join(c.model for c in self.catheters),
        )


class CatalogError(ValueError):
    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors = tuple(errors)
        super().__init__("device catalog errors:\n" + "\n".join(f"  {e}" for e in errors))


_PUMP_QUANTITIES: dict[str, Dimension] = {
    "reservoir": Dimension.VOLUME,
    "min_rate": Dimension.FLOW_RATE,
    "max_rate": Dimension.FLOW_RATE,
    "rate_resolution": Dimension.FLOW_RATE,
    "actuation_volume": Dimension.VOLUME,
    "pocket_fill_threshold": Dimension.VOLUME,
    "low_reservoir_alarm": Dimension.VOLUME,
    "internal_volume": Dimension.VOLUME,
    "noncritical_alarm_repeat": Dimension.TIME,
    "critical_tone_duration": Dimension.TIME,
    "noncritical_tone_duration": Dimension.TIME,
    "battery_life_min": Dimension.TIME,
    "battery_life_max": Dimension.TIME,
    "eri_to_eos": Dimension.TIME,
    "battery_calibration_flow": Dimension.FLOW_RATE,
    "battery_telemetry_cost": Dimension.TIME,
    "mri_recovery_min": Dimension.TIME,
    "mri_recovery_max": Dimension.TIME,
    "flow_valve_close_volume": Dimension.VOLUME,
    "bag_volume_min": Dimension.VOLUME,
    "bag_volume_max": Dimension.VOLUME,
}
_PUMP_FRACTIONS = ("accuracy_over", "accuracy_under")
_PUMP_COUNTS = ("max_steps_per_day", "critical_tone_count", "noncritical_tone_count")


def build_catalog(origin: str, data: Mapping[str, Any]) -> DeviceCatalog:
    """Every numeric field ``x`` needs ``x_source`` beside it. Raises :class:`CatalogError`."""
    errors: list[InputError] = []
    pumps: list[PumpSpec] = []
    for i, raw in enumerate(data.get("pumps", [])):
        where = f"{origin}: pumps[{i}]"
        values: dict[str, Any] = {}
        sources: list[tuple[str, str]] = []
        for key, dim in _PUMP_QUANTITIES.items():
            if key in raw:
                try:
                    values[key] = parse_quantity(raw[key], f"{where}.{key}", dim)
                except InputError as exc:
                    errors.append(exc)
        for key in _PUMP_FRACTIONS:
            if key in raw:
                try:
                    q = parse_quantity(raw[key], f"{where}.{key}", Dimension.DIMENSIONLESS)
                    values[key] = float(q.to("").magnitude)
                except InputError as exc:
                    errors.append(exc)
        for key in _PUMP_COUNTS:
            if key in raw:
                count = raw[key]
                if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                    errors.append(InputError(f"{where}.{key}", f"got {count!r}", "a whole number"))
                else:
                    values[key] = count
        for key in [*_PUMP_QUANTITIES, *_PUMP_FRACTIONS, *_PUMP_COUNTS]:
            if key in raw:
                src = raw.get(f"{key}_source")
                if not isinstance(src, str) or not src.strip():
                    errors.append(InputError(f"{where}.{key}_source", "every value needs a source"))
                else:
                    sources.append((key, src))
        try:
            kind = PumpKind(raw.get("kind"))
        except ValueError:
            errors.append(
                InputError(
                    f"{where}.kind",
                    f"got {raw.get('kind')!r}",
                    ", ".join(k.value for k in PumpKind),
                )
            )
            continue
        model = raw.get("model")
        if not isinstance(model, str):
            errors.append(InputError(f"{where}.model", "is required"))
            continue
        pumps.append(
            PumpSpec(
                model=model,
                kind=kind,
                implanted=bool(raw.get("implanted", kind is not PumpKind.EXTERNAL)),
                name=str(raw.get("name", model)),
                sources=tuple(sources),
                **values,
            )
        )
    catheters: list[CatheterSpec] = []
    for i, raw in enumerate(data.get("catheters", [])):
        where = f"{origin}: catheters[{i}]"
        vpl: pint.Quantity | None = None
        length: pint.Quantity | None = None
        try:
            if "volume_per_length" in raw:
                vpl = parse_quantity(
                    raw["volume_per_length"],
                    f"{where}.volume_per_length",
                    Dimension.VOLUME_PER_LENGTH,
                )
            if "full_length" in raw:
                length = parse_quantity(
                    raw["full_length"], f"{where}.full_length", Dimension.LENGTH
                )
        except InputError as exc:
            errors.append(exc)
            continue
        if (vpl is not None or length is not None) and not raw.get("source"):
            errors.append(InputError(f"{where}.source", "every value needs a source"))
        catheters.append(
            CatheterSpec(str(raw.get("model")), vpl, length, str(raw.get("source", "")))
        )
    if errors:
        raise CatalogError(errors)
    return DeviceCatalog(tuple(pumps), tuple(catheters))
