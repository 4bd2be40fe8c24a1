"""The plant: physics the firmware cannot see. True reservoir volume, flow bias, the catheter
(patent, occluded, leaking, disconnected, migrated, fractured), the motor and valves.

The firmware counts strokes; the plant decides how much drug those strokes really move and where
it goes. A fault here shows only through its effects: a residual at refill that differs from the
firmware's estimate, less drug in the CSF, or (for pumps that sense it) an alarm.
"""

import random
from dataclasses import dataclass
from enum import StrEnum

import pint

from thecal.therapy.pump import PumpSpec
from thecal.units import Q_, Dimension, InputError, check_dimension, ureg

# Parsed once: pint re-parses a prefixed unit string such as "mL" on every call (~60 µs), which
# made unit conversions a large share of a simulated pump-year.
_ML = ureg.Unit("mL")


class CatheterState(StrEnum):
    PATENT = "patent"
    PARTIAL_OCCLUSION = "partial occlusion"
    OCCLUDED = "occluded"
    LEAK = "leak"
    DISCONNECTED = "disconnected"
    MIGRATED = "migrated"
    FRACTURED = "fractured"


@dataclass(frozen=True)
class PlantTruth:
    """The true state (for scenarios, plots and tests; a programmer never sees it)."""

    reservoir: pint.Quantity
    left_pump: pint.Quantity  # drug that left the reservoir
    to_csf: pint.Quantity  # of which reached the intrathecal space
    elsewhere: pint.Quantity  # of which went to the pocket / epidural space / tissue
    flow_bias: float
    catheter: CatheterState
    catheter_volume: pint.Quantity | None
    occlusion: float
    leak: float
    motor_stalled: bool
    flow_valve_closed: bool
    air_in_line: bool


def _fraction(value: float, field: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise InputError(field, f"got {value!r}", "a fraction from 0 to 1")
    return float(value)


def draw_flow_bias(
    spec: PumpSpec, rng: random.Random, band: tuple[float, float] | None = None
) -> float:
    """A per-device flow bias (fraction; +0.05 = 5 % more than programmed) drawn uniformly from
    the labelled accuracy band ``[-accuracy_under, +accuracy_over]``. When a side of the band is
    not public (SynchroMed labels only over-infusion) the caller must give ``band``."""
    if band is None:
        if spec.accuracy_over is None or spec.accuracy_under is None:
            raise InputError(
                "plant.flow_bias_band",
                f"the accuracy band of {spec.model} is not fully public",
                "an explicit (low, high) band or a fixed flow_bias",
            )
        band = (-spec.accuracy_under, spec.accuracy_over)
    low, high = band
    if low > high:
        raise InputError("plant.flow_bias_band", "low is above high", "(low, high)")
    return rng.uniform(low, high)


class Plant:
    """Mutable physical state. Volumes are floats in mL inside (hot path); quantities outside."""

    def __init__(self, flow_bias: float = 0.0, catheter_volume: pint.Quantity | None = None):
        if not -1.0 < flow_bias < 1.0:
            raise InputError("plant.flow_bias", f"got {flow_bias!r}", "a fraction such as 0.02")
        if catheter_volume is not None:
            check_dimension(catheter_volume, "plant.catheter_volume", Dimension.VOLUME)
        self.flow_bias = float(flow_bias)
        self.catheter_volume = catheter_volume
        self.reservoir_ml = 0.0
        self.left_pump_ml = 0.0
        self.to_csf_ml = 0.0
        self.elsewhere_ml = 0.0
        self.catheter = CatheterState.PATENT
        self.occlusion = 0.0
        self.leak = 0.0
        self.motor_stalled = False
        self.flow_valve_closed = False
        self.air_in_line = False
        self._factor = 1.0 + self.flow_bias

    # -- what strokes do ------------------------------------------------------------------

    def pump(self, strokes: int, stroke_ml: float) -> float:
        """Move ``strokes`` strokes; return the true volume (mL) that left the reservoir."""
        if strokes <= 0 or self.motor_stalled or self.flow_valve_closed:
            return 0.0
        moved = strokes * stroke_ml * self._factor * (1.0 - self.occlusion)
        return self._release(moved)

    def dump(self, volume_ml: float) -> float:
        """Uncontrolled release (magnet opens both valves): up to ``volume_ml`` leaves."""
        return self._release(volume_ml)

    def _release(self, moved: float) -> float:
        if moved > self.reservoir_ml:
            moved = self.reservoir_ml
        if moved <= 0.0:
            return 0.0
        self.reservoir_ml -= moved
        self.left_pump_ml += moved
        lost = moved * self.leak
        self.elsewhere_ml += lost
        self.to_csf_ml += moved - lost
        return moved

    # -- clinician's hands --------------------------------------------------------------------

    def withdraw(self) -> pint.Quantity:
        """Empty the reservoir through the septum; return what came out (the true residual)."""
        residual = self.reservoir_ml
        self.reservoir_ml = 0.0
        return Q_(residual, _ML)

    def fill(self, volume: pint.Quantity, capacity: pint.Quantity) -> None:
        check_dimension(volume, "fill.volume", Dimension.VOLUME)
        ml = float(volume.to(_ML).magnitude)
        if ml < 0 or self.reservoir_ml + ml > float(capacity.to(_ML).magnitude) + 1e-9:
            raise InputError("fill.volume", f"{ml} mL does not fit", f"at most {capacity:~P}")
        self.reservoir_ml += ml

    # -- faults -------------------------------------------------------------------------------

    def set_catheter(self, state: CatheterState, occlusion: float = 0.0, leak: float = 0.0) -> None:
        self.catheter = state
        self.occlusion = _fraction(occlusion, "catheter.occlusion")
        self.leak = _fraction(leak, "catheter.leak")

    def truth(self) -> PlantTruth:
        return PlantTruth(
            reservoir=Q_(self.reservoir_ml, _ML),
            left_pump=Q_(self.left_pump_ml, _ML),
            to_csf=Q_(self.to_csf_ml, _ML),
            elsewhere=Q_(self.elsewhere_ml, _ML),
            flow_bias=self.flow_bias,
            catheter=self.catheter,
            catheter_volume=self.catheter_volume,
            occlusion=self.occlusion,
            leak=self.leak,
            motor_stalled=self.motor_stalled,
            flow_valve_closed=self.flow_valve_closed,
            air_in_line=self.air_in_line,
        )
