"""Battery model: a charge budget drained by quiescent current, by each stroke and by each
telemetry session, giving flow-dependent ERI and end-of-service (EOS) times.

What is sourced (Medtronic, "Drug pump replacement" patient page): life 5-7 years depending
on flow, at most 7; the pump stops
within 90 days after ERI. What is NOT public: capacity, quiescent current, charge per stroke,
charge per telemetry session. So the drain parameters are *derived* from the sourced life bounds
plus two calibration inputs (catalog fields marked CALIBRATION, or entered):

* at zero flow and no telemetry the pump reaches EOS after the longest labelled life
  (``life_max``): quiescent drain ``q = 1 / (life_max - eri_to_eos)`` of the ERI budget per hour;
* at ``calibration_flow`` it reaches EOS after the shortest labelled life (``life_min``):
  drain per mL ``e = (1 / (life_min - eri_to_eos) - q) / calibration_flow``;
* a telemetry session drains what ``telemetry_cost`` of quiescent current drains.

ERI is when the used fraction reaches 1; EOS (pump stops) is ``eri_to_eos`` later — the bound of
the labelled "within 90 days". These are calibrations, not measurements.
"""

from dataclasses import dataclass

import pint

from thecal.therapy.pump import PumpSpec
from thecal.units import Q_, Dimension, InputError, check_dimension, ureg

# Parsed once: pint re-parses a prefixed unit string such as "mL" on every call (~60 µs), which
# made unit conversions a large share of a simulated pump-year.
_ML = ureg.Unit("mL")
_ML_PER_H = ureg.Unit("mL/h")


@dataclass(frozen=True)
class BatteryCalibration:
    life_min: pint.Quantity
    life_max: pint.Quantity
    eri_to_eos: pint.Quantity
    calibration_flow: pint.Quantity
    telemetry_cost: pint.Quantity
    source: str = ""

    def __post_init__(self) -> None:
        for name, dim in (
            ("life_min", Dimension.TIME),
            ("life_max", Dimension.TIME),
            ("eri_to_eos", Dimension.TIME),
            ("calibration_flow", Dimension.FLOW_RATE),
            ("telemetry_cost", Dimension.TIME),
        ):
            check_dimension(getattr(self, name), f"battery.{name}", dim)
        if not self.eri_to_eos < self.life_min <= self.life_max:
            raise InputError(
                "battery.life_min", "must exceed eri_to_eos and not exceed life_max", "5-7 years"
            )
        if self.calibration_flow.magnitude <= 0:
            raise InputError("battery.calibration_flow", "must be greater than zero", "'1 mL/d'")
        if self.telemetry_cost.magnitude < 0:
            raise InputError("battery.telemetry_cost", "must not be negative", "'1 h'")

    @property
    def quiescent_per_hour(self) -> float:
        """Fraction of the ERI budget drained per hour by quiescent current."""
        return 1.0 / float((self.life_max - self.eri_to_eos).to("h").magnitude)

    @property
    def per_ml(self) -> float:
        """Fraction of the ERI budget drained per mL pumped (stroke work)."""
        short = 1.0 / float((self.life_min - self.eri_to_eos).to("h").magnitude)
        return (short - self.quiescent_per_hour) / float(
            self.calibration_flow.to(_ML_PER_H).magnitude
        )

    @property
    def per_session(self) -> float:
        """Fraction of the ERI budget drained per telemetry session."""
        return self.quiescent_per_hour * float(self.telemetry_cost.to("h").magnitude)

    @property
    def eri_to_eos_hours(self) -> float:
        return float(self.eri_to_eos.to("h").magnitude)

    def expected_life(self, flow: pint.Quantity) -> pint.Quantity:
        """Implant-to-EOS time (years) at a constant ``flow`` without telemetry."""
        check_dimension(flow, "flow", Dimension.FLOW_RATE)
        per_h = self.quiescent_per_hour + self.per_ml * float(flow.to(_ML_PER_H).magnitude)
        return Q_(1.0 / per_h + self.eri_to_eos_hours, "h").to("year")


def battery_from_spec(
    spec: PumpSpec,
    calibration_flow: pint.Quantity | None = None,
    telemetry_cost: pint.Quantity | None = None,
) -> BatteryCalibration | None:
    """The battery model of ``spec``: ``None`` when the catalog has no sourced battery life (the
    battery is then not simulated). Entered calibration values win over the catalog's."""
    if spec.battery_life_min is None or spec.battery_life_max is None or spec.eri_to_eos is None:
        return None
    flow = spec.require("battery_calibration_flow", calibration_flow, "battery.calibration_flow")
    cost = spec.require("battery_telemetry_cost", telemetry_cost, "battery.telemetry_cost")
    source = "; ".join(
        f"{k}: {spec.source(k)}"
        for k in ("battery_life_min", "eri_to_eos", "battery_calibration_flow")
        if spec.source(k)
    )
    return BatteryCalibration(
        spec.battery_life_min, spec.battery_life_max, spec.eri_to_eos, flow, cost, source
    )
