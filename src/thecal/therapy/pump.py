"""What the therapy math needs to know about a pump and a catheter (filled from the catalog).

Values that are not public (SynchroMed internal volume, Medtronic catheter volume per cm,
maximum rates) are ``None`` here and must be entered by the user when a calculation needs them.
"""

from dataclasses import dataclass, field
from enum import StrEnum

import pint

from thecal.units import InputError


class PumpKind(StrEnum):
    PERISTALTIC = "peristaltic"
    VALVE_GATED = "valve-gated"
    EXTERNAL = "external"


@dataclass(frozen=True)
class PumpSpec:
    """A pump model's capabilities. ``sources`` maps each field name to where its value is from."""

    model: str
    kind: PumpKind
    implanted: bool
    reservoir: pint.Quantity | None = None
    min_rate: pint.Quantity | None = None
    max_rate: pint.Quantity | None = None
    rate_resolution: pint.Quantity | None = None
    actuation_volume: pint.Quantity | None = None
    accuracy_over: float | None = None
    accuracy_under: float | None = None
    pocket_fill_threshold: pint.Quantity | None = None
    low_reservoir_alarm: pint.Quantity | None = None
    internal_volume: pint.Quantity | None = None
    max_steps_per_day: int | None = None
    # Virtual-implant fields (thecal.implant). None = not public / not applicable: the simulator
    # then asks for the value as a required input.
    noncritical_alarm_repeat: pint.Quantity | None = None
    critical_tone_count: int | None = None
    critical_tone_duration: pint.Quantity | None = None
    noncritical_tone_count: int | None = None
    noncritical_tone_duration: pint.Quantity | None = None
    battery_life_min: pint.Quantity | None = None
    battery_life_max: pint.Quantity | None = None
    eri_to_eos: pint.Quantity | None = None
    battery_calibration_flow: pint.Quantity | None = None
    battery_telemetry_cost: pint.Quantity | None = None
    mri_recovery_min: pint.Quantity | None = None
    mri_recovery_max: pint.Quantity | None = None
    flow_valve_close_volume: pint.Quantity | None = None
    bag_volume_min: pint.Quantity | None = None
    bag_volume_max: pint.Quantity | None = None
    name: str = ""
    sources: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def source(self, field_name: str) -> str:
        return dict(self.sources).get(field_name, "")

    def require(self, field_name: str, entered: pint.Quantity | None, where: str) -> pint.Quantity:
        """The catalog value of ``field_name`` or the value the user ``entered``; entered wins.
        Raises :class:`InputError` naming ``where`` when neither exists (value not public)."""
        if entered is not None:
            return entered
        value = getattr(self, field_name)
        if value is None:
            raise InputError(
                where,
                f"the {field_name.replace('_', ' ')} of {self.model} is not public and was not "
                "entered",
                "a value from the device labelling entered by the clinician",
            )
        if not isinstance(value, pint.Quantity):
            raise TypeError(field_name)
        return value


@dataclass(frozen=True)
class CatheterSpec:
    model: str
    volume_per_length: pint.Quantity | None = None
    full_length: pint.Quantity | None = None
    source: str = ""
