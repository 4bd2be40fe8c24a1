"""Clock: drift against the clinic's reference, never corrected silently (pure).

The tolerance is a required input (there is no public drift bound).
"""

from dataclasses import dataclass
from datetime import datetime

from thecal.programmer.clinician_session import (
    Session,
)
from thecal.programmer.commands import Op, Qty, Reply
from thecal.units import Q_, Dimension, check_dimension


@dataclass(frozen=True)
class ClockCheck:
    """``drift`` = device − reference (s); ``within`` = |drift| ≤ tolerance."""

    device_time: datetime
    reference: datetime
    drift: Qty
    within: bool


def read_clock(s: Session, reference: datetime, tolerance: Qty) -> ClockCheck:
    """Device clock vs ``reference`` (the clinic's clock); drift beyond ``tolerance`` (a
    required input: no public drift bound) is reported, never corrected silently."""
    check_dimension(tolerance, "tolerance", Dimension.TIME)
    reply = s.require(s.send(Op.CLOCK_READ))
    device = datetime.fromisoformat(str(reply.data["device_time"]))
    drift = Q_((device - reference).total_seconds(), "s")
    return ClockCheck(device, reference, drift, abs(drift) <= tolerance)


def set_clock(s: Session, device_time: datetime) -> Reply:
    return s.require(s.send(Op.CLOCK_SET, {"device_time": device_time.isoformat()}))


__all__ = ["ClockCheck", "read_clock", "set_clock"]
