"""Who a device is: its family, model and serial, and its battery state (every implant family).

A device keeps an append-only log keyed by its serial (:mod:`thecal.devices.log`), so a
replaced device never merges into the old one's history.
"""

from dataclasses import dataclass
from enum import StrEnum


class DeviceFamily(StrEnum):
    """Implant families behind the common device protocol. Each family adds its own
    capability set and commands (the drug pump's are in :mod:`thecal.devices.pump`)."""

    DRUG_PUMP = "drug pump"
    SPINAL_CORD_STIMULATOR = "spinal cord stimulator"


@dataclass(frozen=True)
class DeviceIdentity:
    """The serial (unique per device, never reused), the catalog model and the family."""

    serial: str
    model: str
    family: DeviceFamily


class BatteryState(StrEnum):
    """Battery indicators every implanted family reports: the elective replacement indicator
    (ERI: plan a replacement) and end of service (EOS: the device has stopped for good)."""

    OK = "ok"
    ELECTIVE_REPLACEMENT = "elective replacement indicator"
    END_OF_SERVICE = "end of service"


__all__ = ["BatteryState", "DeviceFamily", "DeviceIdentity"]
