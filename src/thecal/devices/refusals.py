"""Command results and device refusals as stable codes (every implant family).

Patterns (open insulin-pump projects, LoopKit ``PumpManager``, AndroidAPS ``Pump``): every
command returns a result that says whether it was *processed* and whether the device *state
changed*. When the device did not do all that was asked it says so twice: a stable
:class:`DeviceRefusal` code that programs branch on, and a human sentence (``reason``) that
people read. Code and sentence come together or not at all.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import pint

from thecal.devices.alarms import Tone
from thecal.devices.states import DeliveryState, Hold, delivery_state
from thecal.therapy.findings import Finding


class DeviceRefusal(StrEnum):
    """Why a device did not (fully) do what it was asked. Values are stable wire codes."""

    NOT_DELIVERING = "not-delivering"  # a delivery hold (alarm, clinician stop, MRI)
    NO_PROGRAM = "no-program"
    END_OF_SERVICE = "end-of-service"
    POST_MRI_HOLD = "post-mri-hold"  # waiting for the post-MRI interrogation
    NO_PATIENT_BOLUS = "no-patient-bolus"  # none programmed
    LOCKOUT = "lockout"  # too soon after the last patient bolus (start to start)
    MAX_PER_DAY = "max-per-day"  # patient boluses in any rolling 24 h
    NOT_POSITIVE = "not-positive"  # a volume or duration at or below zero
    OVER_CAPACITY = "over-capacity"  # more than the reservoir holds
    EXCEEDS_LIMITS = "exceeds-hard-limits"  # the firmware's hard limits (see the findings)
    UNCHANGED = "unchanged"  # the program written is the one running
    STILL_HELD = "still-held"  # resumed what it could; another hold remains
    TONE_NOT_PUBLIC = "tone-not-public"  # alarm test: a tone is not published
    OUTSIDE_PATIENT_RANGE = "outside-patient-range"  # the clinician's bounds for the patient
    UNKNOWN_GROUP = "unknown-group"  # no group (program) of that name
    MRI_MODE = "mri-mode"  # not while the stimulator is in MRI mode
    NOT_RECHARGEABLE = "not-rechargeable"  # a charge session on a primary cell
    UNSUPPORTED = "unsupported"  # a setting this device cannot do (e.g. voltage mode)
    LEAD_INTEGRITY = "lead-integrity"  # MRI mode needs every contact's impedance in range


_NOT_DELIVERING: dict[DeliveryState, DeviceRefusal] = {
    DeliveryState.END_OF_SERVICE: DeviceRefusal.END_OF_SERVICE,
    DeliveryState.WAITING_POST_MRI: DeviceRefusal.POST_MRI_HOLD,
    DeliveryState.NO_PROGRAM: DeviceRefusal.NO_PROGRAM,
}


def not_delivering(holds: Iterable[Hold]) -> DeviceRefusal:
    """The refusal code for a command that needs delivery while ``holds`` stop it."""
    return _NOT_DELIVERING.get(delivery_state(holds), DeviceRefusal.NOT_DELIVERING)


@dataclass(frozen=True)
class CommandResult:
    """``processed``: the device received and handled the command (a refusal is processed);
    ``state_changed``: the device's state actually changed. A refused command has
    ``processed=True, state_changed=False`` and says why in ``refusal`` (code), ``reason``
    (sentence) and ``findings``. A code comes with a sentence and a sentence with a code."""

    command: str
    processed: bool
    state_changed: bool
    reason: str = ""
    findings: tuple[Finding, ...] = ()
    values: tuple[tuple[str, pint.Quantity], ...] = ()
    tones: tuple[Tone, ...] = ()
    refusal: DeviceRefusal | None = None

    def __post_init__(self) -> None:
        if (self.refusal is None) != (not self.reason):
            raise ValueError(
                f"{self.command}: a device refusal needs both a code and a reason "
                f"(code {self.refusal}, reason {self.reason!r})"
            )

    @property
    def refused(self) -> bool:
        """The device handled the command, did not change state, and said why."""
        return self.processed and not self.state_changed and self.refusal is not None

    def value(self, name: str) -> pint.Quantity:
        return dict(self.values)[name]


__all__ = ["CommandResult", "DeviceRefusal", "not_delivering"]
