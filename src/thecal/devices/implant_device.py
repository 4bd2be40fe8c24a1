"""What a programmer can ask of any implant, whatever its family (drug pump, spinal cord
stimulator), real or simulated.

Patterns (open insulin-pump projects): a device sits behind a protocol with *capabilities*
(LoopKit ``PumpManager``, AndroidAPS ``Pump``); every command returns a
:class:`~thecal.devices.refusals.CommandResult`; the device keeps an append-only,
sequence-numbered event log keyed by its serial. A family extends :class:`ImplantDevice` with
its own capabilities, status and commands (:class:`thecal.devices.pump.DrugPump`).

Everything here is data and protocols: no I/O, no clock. Times are naive device-local
datetimes passed in.
"""

from datetime import datetime
from typing import Protocol, runtime_checkable

from thecal.devices.alarms import AlarmCondition, AlarmState
from thecal.devices.identity import BatteryState, DeviceFamily
from thecal.devices.log import LogEvent
from thecal.devices.refusals import CommandResult
from thecal.devices.states import DeliveryState


class DeviceCapabilities(Protocol):
    """What every family's capability set says at least: the catalog model and the family."""

    @property
    def model(self) -> str: ...

    @property
    def family(self) -> DeviceFamily: ...


class ImplantStatus(Protocol):
    """What every family's interrogation returns at least: the firmware's view (never a
    simulator's truth), with the device clock only."""

    @property
    def serial(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def device_time(self) -> datetime: ...

    @property
    def delivery(self) -> DeliveryState: ...

    @property
    def battery(self) -> BatteryState: ...

    @property
    def alarms(self) -> tuple[AlarmState, ...]: ...

    @property
    def last_seq(self) -> int: ...


@runtime_checkable
class ImplantDevice(Protocol):
    """The commands every implant answers. ``advance`` moves simulated time (a real driver
    would treat it as "wait until"); ``now`` is the driver's time, not a status field."""

    @property
    def serial(self) -> str: ...

    @property
    def capabilities(self) -> DeviceCapabilities: ...

    @property
    def now(self) -> datetime: ...

    def interrogate(self) -> ImplantStatus: ...

    def events(self, since_seq: int = 0) -> tuple[LogEvent, ...]: ...

    def acknowledge_alarm(self, condition: AlarmCondition | None = None) -> CommandResult: ...

    def alarm_test(self) -> CommandResult: ...

    def read_clock(self) -> datetime: ...

    def set_clock(self, device_time: datetime) -> CommandResult: ...

    def stop(self) -> CommandResult: ...

    def resume(self) -> CommandResult: ...

    def advance(self, until: datetime) -> None: ...


__all__ = ["DeviceCapabilities", "ImplantDevice", "ImplantStatus"]
