"""Implant-side handlers every implant family answers the same way: replies, the clock,
alarms and the interrogation's paging of the event log (pure: no sockets, no clock).

:mod:`.implant_ops` (drug pump) and :mod:`.implant_stim_ops` (stimulator) register these beside
their own family's handlers."""

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from thecal.devices.implant_device import ImplantDevice, ImplantStatus
from thecal.devices.refusals import CommandResult
from thecal.programmer.commands import RefusalCode, Reply, ReplyStatus, canonical
from thecal.programmer.implant_journal import Journal, ServerSettings
from thecal.programmer.operation_base import Operation
from thecal.programmer.operations import (
    AcknowledgeAlarmOp,
    AlarmTestOp,
    ClockReadOp,
    ClockSetOp,
    InterrogateOp,
)
from thecal.programmer.paging import events_within

DeviceReply = Callable[[Operation, CommandResult, dict[str, Any] | None], Reply]


class DeviceCall(Protocol):
    """What the common handlers need of one command's context (either family's ``Call``)."""

    @property
    def device(self) -> ImplantDevice: ...

    @property
    def settings(self) -> ServerSettings: ...

    @property
    def journal(self) -> Journal: ...

    @property
    def now(self) -> datetime: ...

    @property
    def device_reply(self) -> DeviceReply: ...


def ok(call: DeviceCall, cmd: Operation, data: dict[str, Any]) -> Reply:
    """The command was processed; ``data`` is its answer."""
    return Reply(cmd.op.value, cmd.command_id, ReplyStatus.OK, call.now, processed=True, data=data)


def refused(call: DeviceCall, cmd: Operation, code: RefusalCode, message: str) -> Reply:
    """The command layer refused the command before it reached the device."""
    return Reply(cmd.op.value, cmd.command_id, ReplyStatus.REFUSED, call.now, code.value, message)


def interrogate_with(
    call: DeviceCall, cmd: InterrogateOp, status_json: Callable[[Any], dict[str, Any]]
) -> Reply:
    """Status (``status_json`` of the device's own status) and journal unless ``status`` is
    false, then as many log events after ``since_seq`` as fit the page budget; ``more`` says
    whether some remain."""
    out: dict[str, Any] = {}
    budget = call.settings.page_bytes
    if cmd.args.status:
        status: ImplantStatus = call.device.interrogate()
        out["status"] = status_json(status)
        out["journal"] = call.journal.entries()
        budget -= len(canonical(out))
    events, more = events_within(call.device.events(cmd.args.since_seq), budget)
    out.update(events=events, more=more, serial=call.device.serial)
    return ok(call, cmd, out)


def clock_read(call: DeviceCall, cmd: ClockReadOp) -> Reply:
    return ok(call, cmd, {"device_time": call.device.read_clock().isoformat()})


def acknowledge_alarm(call: DeviceCall, cmd: AcknowledgeAlarmOp) -> Reply:
    return call.device_reply(cmd, call.device.acknowledge_alarm(cmd.args.condition), None)


def alarm_test(call: DeviceCall, cmd: AlarmTestOp) -> Reply:
    return call.device_reply(cmd, call.device.alarm_test(), None)


def clock_set(call: DeviceCall, cmd: ClockSetOp) -> Reply:
    return call.device_reply(cmd, call.device.set_clock(cmd.args.device_time), None)


__all__ = [
    "DeviceCall",
    "DeviceReply",
    "acknowledge_alarm",
    "alarm_test",
    "clock_read",
    "clock_set",
    "interrogate_with",
    "ok",
    "refused",
]
