"""The append-only device log every implant family keeps: event kinds and one log entry.

``seq`` starts at 1 and never repeats for a serial. The entry carries the *device* clock only:
what a programmer receives never holds the simulation's true time (a simulator's own log entry
may add it, see :class:`thecal.implant.firmware.SimLogEvent`).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import pint

from thecal.devices.alarms import AlarmCondition
from thecal.devices.clock import at_hours
from thecal.units import Q_


class EventKind(StrEnum):
    PROVISIONED = "provisioned"
    PROGRAM_WRITTEN = "program written"
    PROGRAM_REFUSED = "program refused"
    BOLUS_START = "bolus start"
    BOLUS_END = "bolus end"
    BOLUS_REFUSED = "bolus refused"
    PTB_GRANTED = "patient bolus granted"
    PTB_DENIED = "patient bolus denied"
    REFILL = "refill recorded"
    REFILL_REFUSED = "refill refused"
    ALARM_RAISED = "alarm raised"
    ALARM_REPEATED = "alarm repeated"
    ALARM_ACKNOWLEDGED = "alarm acknowledged"
    ALARM_RESOLVED = "alarm condition resolved"
    ALARM_CLEARED = "alarm cleared"
    ALARM_TEST = "alarm test"
    MOTOR_STALL = "motor stall"
    MOTOR_STALL_RECOVERY = "motor stall recovery"
    MRI_DETECTED = "MRI detected"
    MRI_RECOVERED = "MRI recovery"
    POST_MRI_HOLD = "waiting for post-MRI interrogation"
    POST_MRI_RESUME = "post-MRI resume"
    RESET = "reset"
    MEMORY_ERROR = "memory error"
    ERI = "elective replacement indicator"
    EOS = "end of service"
    PUMP_STOPPED = "pump stopped"
    PUMP_RESUMED = "pump resumed"
    DELIVERY_PAUSED = "delivery paused"
    DELIVERY_RESUMED = "delivery resumed"
    CLOCK_SET = "clock set"
    # spinal cord stimulator (issue 12)
    IMPEDANCE_MEASURED = "impedance measured"
    AMPLITUDE_CLAMPED = "amplitude clamped"  # OpenNerve's LSA: safe maximum lowered
    CONTACT_DISABLED = "contact disabled"  # open or short circuit
    CONTACT_ENABLED = "contact enabled"  # its impedance is in range again
    STIMULATION_ON = "stimulation on"
    STIMULATION_OFF = "stimulation off"
    GROUP_SELECTED = "group selected"
    AMPLITUDE_CHANGED = "amplitude changed"
    PATIENT_CHANGE_REFUSED = "patient change refused"
    MRI_MODE_ON = "MRI mode on"
    MRI_MODE_OFF = "MRI mode off"
    CHARGE_SESSION = "charge session"
    BATTERY_DEPLETED = "battery depleted"
    POWER_ON_RESET = "power-on reset"


@dataclass(frozen=True)
class LogEvent:
    """One entry of the append-only device log. ``seq`` starts at 1 and never repeats for a
    ``serial``. Times are float hours since :data:`thecal.devices.clock.EPOCH` internally (cheap
    to store in 7-year runs); read them as datetimes through the properties. ``values`` holds
    ``(name, magnitude, unit)``; read them as quantities with :meth:`quantity`."""

    serial: str
    seq: int
    kind: EventKind
    device_hours: float
    message: str = ""
    values: tuple[tuple[str, float, str], ...] = ()
    alarm: AlarmCondition | None = None

    @property
    def at(self) -> datetime:
        """Device clock time of the entry."""
        return at_hours(self.device_hours)

    def quantity(self, name: str) -> pint.Quantity:
        for key, magnitude, unit in self.values:
            if key == name:
                return Q_(magnitude, unit)
        raise KeyError(name)

    def quantities(self) -> dict[str, pint.Quantity]:
        return {k: Q_(m, u) for k, m, u in self.values}


__all__ = ["EventKind", "LogEvent"]
