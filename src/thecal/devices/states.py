"""Therapy delivery state: why a device is not delivering (holds), and the one state it shows.

Holds are reasons the firmware stopped delivery; several can hold at once (a motor stall during
a clinician stop), so a device reports the *set*. :func:`delivery_state` reduces the set to the
one state a programmer shows, the most serious first. Today's holds are the drug pump's
(:mod:`thecal.implant.firmware_delivery` sets them); a family adds its own reasons here.
"""

from collections.abc import Iterable
from enum import StrEnum


class Hold(StrEnum):
    """Reasons the firmware is not delivering (values are the texts the device log shows)."""

    STOPPED = "stopped by clinician"
    MRI = "MRI: rotor stopped"
    POST_MRI = "waiting for post-MRI interrogation"
    MOTOR_STALL = "motor stall"
    EOS = "end of service"
    MEMORY = "memory error"
    OCCLUSION = "occlusion"
    AIR = "air in line"
    EMPTY = "reservoir empty"
    NO_PROGRAM = "no program"


class DeliveryState(StrEnum):
    """What the device is doing, derived from its holds by :func:`delivery_state`."""

    DELIVERING = "delivering"
    END_OF_SERVICE = "end of service"  # battery exhausted: stopped for good
    SUSPENDED_BY_ALARM = "suspended by alarm"  # a fault alarm stopped delivery
    STOPPED_FOR_MRI = "stopped during MRI"  # the magnet stopped the rotor; it restarts by itself
    WAITING_POST_MRI = "waiting for post-MRI interrogation"  # restarts when interrogated
    NO_PROGRAM = "no program"
    STOPPED_BY_CLINICIAN = "stopped by clinician"
    STOPPED_BY_PATIENT = "stopped by patient"  # a stimulator's patient remote


# Faults that raise an alarm and stop delivery until the cause is dealt with.
ALARM_HOLDS = frozenset({Hold.MOTOR_STALL, Hold.MEMORY, Hold.OCCLUSION, Hold.AIR, Hold.EMPTY})

# Most serious first: the state that explains the device best when several holds coexist
# (end of service outlasts everything; an alarm needs a clinician; an MRI ends by itself).
_ORDER: tuple[tuple[frozenset[Hold], DeliveryState], ...] = (
    (frozenset({Hold.EOS}), DeliveryState.END_OF_SERVICE),
    (ALARM_HOLDS, DeliveryState.SUSPENDED_BY_ALARM),
    (frozenset({Hold.MRI}), DeliveryState.STOPPED_FOR_MRI),
    (frozenset({Hold.POST_MRI}), DeliveryState.WAITING_POST_MRI),
    (frozenset({Hold.NO_PROGRAM}), DeliveryState.NO_PROGRAM),
    (frozenset({Hold.STOPPED}), DeliveryState.STOPPED_BY_CLINICIAN),
)


def delivery_state(holds: Iterable[Hold]) -> DeliveryState:
    """The one state shown for ``holds`` (no hold: delivering)."""
    present = frozenset(holds)
    for group, state in _ORDER:
        if present & group:
            return state
    return DeliveryState.DELIVERING


def sorted_holds(holds: Iterable[Hold]) -> tuple[Hold, ...]:
    """``holds`` in a stable order (by text, as the device has always listed them)."""
    return tuple(sorted(set(holds), key=lambda h: h.value))


__all__ = ["ALARM_HOLDS", "DeliveryState", "Hold", "delivery_state", "sorted_holds"]
