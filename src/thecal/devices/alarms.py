"""Alarms every implant family reports: numbered conditions, priorities, the audible tone as
data, and one active alarm's state.

Condition numbers are stable across families (records refer to them); a family adds its own
conditions with new numbers. Everything here is data: no I/O, no clock.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

import pint


class AlarmCondition(IntEnum):
    """Numbered alarm conditions. Numbers are stable (records refer to them)."""

    EMPTY_RESERVOIR = 1
    MOTOR_STALL = 2
    END_OF_SERVICE = 3
    LOW_BATTERY_RESET = 4
    MEMORY_ERROR = 5
    OCCLUSION = 6
    AIR_IN_LINE = 7
    LOW_RESERVOIR = 8
    ELECTIVE_REPLACEMENT = 9
    OPEN_CIRCUIT = 10  # stimulator: a contact reads above the measurement window (fracture)
    SHORT_CIRCUIT = 11  # stimulator: a contact reads below the short threshold (breach)
    RECHARGE_NEEDED = 12  # rechargeable stimulator: battery low, charge now
    AMPLITUDE_LIMITED = 13  # stimulator: impedance too high for the programmed amplitude


class AlarmPriority(IntEnum):
    """FDA/UPenn Generic PCA pump reference model levels (Arney et al., UPenn MS-CIS-08-31,
    2009): 4 = empty reservoir and hardware
    errors; 3 = occlusion / over-infusion; 2 = low reservoir; 1 = warnings."""

    WARNING = 1
    LOW_RESERVOIR = 2
    HIGH = 3
    CRITICAL = 4


@dataclass(frozen=True)
class AlarmSpec:
    condition: AlarmCondition
    priority: AlarmPriority
    critical: bool  # critical (two-tone) vs non-critical (one-tone) audible class
    description: str


ALARMS: Mapping[AlarmCondition, AlarmSpec] = {
    a.condition: a
    for a in (
        AlarmSpec(
            AlarmCondition.EMPTY_RESERVOIR,
            AlarmPriority.CRITICAL,
            True,
            "Reservoir empty (firmware estimate below one stroke): refill now.",
        ),
        AlarmSpec(
            AlarmCondition.MOTOR_STALL,
            AlarmPriority.CRITICAL,
            True,
            "Motor stall: no drug is being delivered.",
        ),
        AlarmSpec(
            AlarmCondition.END_OF_SERVICE,
            AlarmPriority.CRITICAL,
            True,
            "End of service: the pump has stopped for good; replace it.",
        ),
        AlarmSpec(
            AlarmCondition.LOW_BATTERY_RESET,
            AlarmPriority.CRITICAL,
            True,
            "Low-battery reset: the flow was reset to a very low level; reprogram and replace.",
        ),
        AlarmSpec(
            AlarmCondition.MEMORY_ERROR,
            AlarmPriority.CRITICAL,
            True,
            "Memory error: delivery stopped; the program must be written again.",
        ),
        AlarmSpec(
            AlarmCondition.OCCLUSION,
            AlarmPriority.HIGH,
            True,
            "Downstream occlusion detected: delivery stopped.",
        ),
        AlarmSpec(
            AlarmCondition.AIR_IN_LINE,
            AlarmPriority.HIGH,
            True,
            "Air in line detected: delivery stopped.",
        ),
        AlarmSpec(
            AlarmCondition.LOW_RESERVOIR,
            AlarmPriority.LOW_RESERVOIR,
            False,
            "Low reservoir: refill soon.",
        ),
        AlarmSpec(
            AlarmCondition.ELECTIVE_REPLACEMENT,
            AlarmPriority.WARNING,
            False,
            "Elective replacement indicator: plan replacement; the pump stops within the "
            "labelled time after this alarm.",
        ),
        AlarmSpec(
            AlarmCondition.OPEN_CIRCUIT,
            AlarmPriority.HIGH,
            True,
            "Lead impedance above the measurable range (open circuit: possible lead fracture "
            "or loose connector): stimulation on that contact is off.",
        ),
        AlarmSpec(
            AlarmCondition.SHORT_CIRCUIT,
            AlarmPriority.HIGH,
            True,
            "Lead impedance below the short threshold (possible insulation breach): "
            "stimulation on that contact is off.",
        ),
        AlarmSpec(
            AlarmCondition.RECHARGE_NEEDED,
            AlarmPriority.WARNING,
            False,
            "Stimulator battery low: recharge now, or stimulation stops when it is empty.",
        ),
        AlarmSpec(
            AlarmCondition.AMPLITUDE_LIMITED,
            AlarmPriority.WARNING,
            False,
            "Impedance too high for the programmed amplitude: the stimulator lowered it to "
            "what its voltage can drive.",
        ),
    )
}


@dataclass(frozen=True)
class Tone:
    """An audible alarm pattern as data: ``count`` tones over ``duration`` (catalog, sourced)."""

    count: int
    duration: pint.Quantity
    source: str


@dataclass(frozen=True)
class AlarmState:
    """One active alarm as the device reports it."""

    condition: AlarmCondition
    priority: AlarmPriority
    critical: bool
    raised_at: datetime
    acknowledged: bool
    resolved: bool
    repeats: int
    tone: Tone | None  # None: the device's tone is not public


__all__ = ["ALARMS", "AlarmCondition", "AlarmPriority", "AlarmSpec", "AlarmState", "Tone"]
