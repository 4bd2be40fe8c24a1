"""The stimulator's cell: how much energy it holds, what voltage it reads at a given charge, and
when the firmware may call ERI, end of service or (rechargeable) "recharge needed".

Energy stored = capacity x cell voltage (:func:`thecal.stimulation.battery.stored_energy`). The
discharge curve is not public for any IPG: the reading is a straight line from the entered
full voltage (full cell) to the entered empty voltage (no energy left) -- a modelling choice,
stated wherever a reading is shown. Readings are debounced as in the open OpenNerve IPG
firmware: ERI and EOS each only after ``low_readings`` (3) consecutive low readings
(CARSSCenter/OpenNerve-Implantable-Pulse-Generator, Src/app_mode_battery_test.c).
"""

from dataclasses import dataclass

import pint

from thecal.stimulation.battery import stored_energy
from thecal.stimulation.catalog import BatteryKind
from thecal.units import Dimension, InputError, check_dimension

DEBOUNCE_SOURCE = (
    "ERI and EOS each only after 3 consecutive low readings; EOS then immediate shutdown: "
    "OpenNerve IPG firmware Src/app_mode_battery_test.c "
    "(CARSSCenter/OpenNerve-Implantable-Pulse-Generator)"
)


def _positive(q: pint.Quantity, field: str, dim: Dimension, unit: str) -> float:
    check_dimension(q, field, dim)
    value = float(q.to(unit).magnitude)
    if not value > 0:
        raise InputError(field, "must be greater than zero", dim.example)
    return value


@dataclass(frozen=True)
class CellModel:
    """The cell as floats (hot path): joules, volts, watts, hours.

    ``eri_v``: primary cells: elective replacement; rechargeable: recharge needed.
    ``eos_v``: primary: end of service (for good); rechargeable: depleted, stimulation stops
    until a charge session lifts the reading above ``eri_v``."""

    kind: BatteryKind
    energy_j: float
    full_v: float
    empty_v: float
    eri_v: float
    eos_v: float
    low_readings: int
    check_h: float
    efficiency: float
    quiescent_w: float
    charge_w: float | None  # power into the cell while charging (rechargeable)

    def voltage(self, used_j: float) -> float:
        """The reading with ``used_j`` joules used (a straight line, see the module doc)."""
        left = max(0.0, 1.0 - used_j / self.energy_j)
        return self.empty_v + left * (self.full_v - self.empty_v)


def cell_model(
    kind: BatteryKind,
    *,
    capacity: pint.Quantity,
    cell_voltage: pint.Quantity,
    full_voltage: pint.Quantity,
    empty_voltage: pint.Quantity,
    eri_voltage: pint.Quantity,
    eos_voltage: pint.Quantity,
    low_readings: int,
    check_interval: pint.Quantity,
    efficiency: float,
    quiescent_power: pint.Quantity,
    charge_power: pint.Quantity | None,
) -> CellModel:
    """A checked :class:`CellModel`; errors name the ``battery.*`` field."""
    energy = stored_energy(capacity, cell_voltage)
    volts = {
        name: _positive(q, f"battery.{name}", Dimension.VOLTAGE, "V")
        for name, q in (
            ("full_voltage", full_voltage),
            ("empty_voltage", empty_voltage),
            ("eri_voltage", eri_voltage),
            ("eos_voltage", eos_voltage),
        )
    }
    if not volts["full_voltage"] > volts["eri_voltage"] >= volts["eos_voltage"]:
        raise InputError("battery.eri_voltage", "must be below full and not below EOS voltage")
    if volts["eos_voltage"] < volts["empty_voltage"]:
        raise InputError("battery.eos_voltage", "is below the empty voltage: never reached")
    if low_readings < 1:
        raise InputError("battery.low_readings", "must be at least 1", "3 (OpenNerve)")
    if not 0 < efficiency <= 1:
        raise InputError("battery.efficiency", f"got {efficiency}", "a share such as '50 %'")
    check_dimension(quiescent_power, "battery.quiescent_power", Dimension.POWER)
    quiescent = float(quiescent_power.to("W").magnitude)
    if quiescent < 0:
        raise InputError("battery.quiescent_power", "must not be negative")
    charge = None
    if kind is BatteryKind.RECHARGEABLE:
        if charge_power is None:
            raise InputError(
                "battery.charge_power",
                "is required for a rechargeable IPG (not public)",
                "e.g. '50 mW'",
            )
        charge = _positive(charge_power, "battery.charge_power", Dimension.POWER, "W")
    return CellModel(
        kind,
        _positive(energy, "battery.capacity", Dimension.ENERGY, "J"),
        volts["full_voltage"],
        volts["empty_voltage"],
        volts["eri_voltage"],
        volts["eos_voltage"],
        low_readings,
        _positive(check_interval, "battery.check_interval", Dimension.TIME, "h"),
        efficiency,
        quiescent,
        charge,
    )


@dataclass
class Debounce:
    """Consecutive low readings below one threshold; fires once when the count reaches
    ``needed``, and re-arms after a reading above it."""

    needed: int
    count: int = 0
    fired: bool = False

    def reading(self, low: bool) -> bool:
        """Count one reading; True exactly when this reading makes it fire."""
        if not low:
            self.count = 0
            self.fired = False
            return False
        self.count += 1
        if self.count >= self.needed and not self.fired:
            self.fired = True
            return True
        return False
