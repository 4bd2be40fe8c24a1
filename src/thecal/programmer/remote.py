"""The stimulator's patient remote (pure): status, amplitude up/down, group, on/off.

The remote holds the ``remote`` role's key: the implant lets it read a patient status and ask
for an amplitude, a group or stimulation on/off, nothing else (``thecal.link.roles``). The
implant decides: an amplitude outside the clinician's range, a group the clinician did not
write, or "on" after the clinician's "off" is refused with a stable code, and the remote says
why in words a patient understands. The remote never clips a request into the range itself:
the patient sees the refusal, not a silently different setting.

A lost acknowledgement leaves the change uncertain (:class:`PendingCommand`): the remote
refuses new changes until a status read finds *that command id* in the implant's journal.
"""

from dataclasses import dataclass
from typing import Any

from thecal.devices.refusals import DeviceRefusal
from thecal.devices.stimulator import TherapyState
from thecal.programmer.commands import (
    CommandError,
    Op,
    Qty,
    RefusalCode,
    Reply,
    ReplyStatus,
    quantity_from_json,
    quantity_json,
)
from thecal.programmer.link_client import AckLost, CommandChannel
from thecal.programmer.pending import PendingCommand
from thecal.programmer.wire_read import read_enum, read_list, read_obj, read_str
from thecal.therapy.compare import above
from thecal.units import Q_, Dimension, InputError, check_dimension


@dataclass(frozen=True)
class RemoteArea:
    """One area as the patient sees it: the running amplitude and the clinician's range."""

    name: str
    amplitude: Qty
    patient_min: Qty | None
    patient_max: Qty | None


@dataclass(frozen=True)
class RemoteStatus:
    """``uncertain``: a change's outcome is still unknown after this read; ``settled``: the
    journal entry of the change that was uncertain before it (if found)."""

    therapy: TherapyState
    group: str | None
    groups: tuple[str, ...]
    areas: tuple[RemoteArea, ...]
    battery_state: str
    alarms: tuple[str, ...]
    uncertain: bool = False
    settled: dict[str, Any] | None = None

    def area(self, name: str | None = None) -> RemoteArea:
        """The named area, or the only one (an error naming the choice when several run)."""
        if name is None and len(self.areas) == 1:
            return self.areas[0]
        for a in self.areas:
            if a.name == name:
                return a
        raise InputError(
            "area", f"no area {name!r} is running", ", ".join(a.name for a in self.areas)
        )


@dataclass(frozen=True)
class RemoteOutcome:
    """``done`` or not; ``reason`` a stable code (a :class:`DeviceRefusal` or
    :class:`RefusalCode` value, or ``uncertain``) and ``message`` a sentence for the patient."""

    done: bool
    reason: str
    message: str
    reply: Reply | None = None


_MESSAGES = {
    DeviceRefusal.OUTSIDE_PATIENT_RANGE.value: (
        "That is outside the range your clinician set: the stimulation was not changed."
    ),
    DeviceRefusal.UNKNOWN_GROUP.value: "There is no such program on your stimulator.",
    DeviceRefusal.NOT_DELIVERING.value: (
        "Your clinician turned stimulation off: only the clinic can turn it back on."
    ),
    DeviceRefusal.MRI_MODE.value: "The stimulator is in MRI mode: ask your clinic.",
    DeviceRefusal.END_OF_SERVICE.value: "The stimulator's battery has run out: call your clinic.",
    DeviceRefusal.NO_PROGRAM.value: "No program is running: call your clinic.",
    DeviceRefusal.UNCHANGED.value: "That is already the setting.",
    RefusalCode.FORBIDDEN.value: "This remote may not do that.",
    RefusalCode.WRONG_FAMILY.value: "This remote is not for this implant.",
}


def _opt(value: Any, field: str) -> Qty | None:
    return None if value is None else quantity_from_json(value, field)


class PatientRemote:
    def __init__(self, channel: CommandChannel) -> None:
        self.channel = channel
        self.uncertain: PendingCommand | None = None

    def status(self) -> RemoteStatus:
        """The stimulator as a patient may see it; settles an uncertain change."""
        reply = self.channel.call(Op.STATUS)
        if reply.status is not ReplyStatus.OK:
            raise PermissionError(reply.message or reply.code)
        d = reply.data
        if d.get("family") != "spinal cord stimulator":
            raise CommandError("family", "this implant is not a spinal cord stimulator")
        settled = None
        if self.uncertain is not None:
            journal = d.get("journal", [])
            entry = self.uncertain.journal_entry(journal if isinstance(journal, list) else [])
            if entry is not None:
                settled, self.uncertain = dict(entry), None
        areas = tuple(
            RemoteArea(
                read_str(a.get("name"), f"areas[{i}].name"),
                quantity_from_json(a.get("amplitude"), f"areas[{i}].amplitude"),
                _opt(a.get("patient_min"), f"areas[{i}].patient_min"),
                _opt(a.get("patient_max"), f"areas[{i}].patient_max"),
            )
            for i, a in enumerate(read_obj(x, "areas") for x in read_list(d.get("areas"), "areas"))
        )
        return RemoteStatus(
            read_enum(TherapyState, d.get("therapy"), "therapy"),
            None if d.get("group") is None else read_str(d["group"], "group"),
            tuple(read_str(g, "groups") for g in read_list(d.get("groups"), "groups")),
            areas,
            read_str(d.get("battery_state"), "battery_state"),
            tuple(
                str(read_obj(a, "alarms").get("name")) for a in read_list(d.get("alarms"), "alarms")
            ),
            self.uncertain is not None,
            settled,
        )

    def _ask(self, op: Op, args: dict[str, Any], done: str) -> RemoteOutcome:
        if self.uncertain is not None:
            return RemoteOutcome(
                False, "uncertain", "The last change got no answer: check the status first."
            )
        try:
            reply = self.channel.call(op, args)
        except AckLost as exc:
            self.uncertain = PendingCommand.of(exc.command)
            return RemoteOutcome(
                False, "uncertain", "No answer from the stimulator: check the status first."
            )
        if reply.status is ReplyStatus.OK and reply.state_changed:
            return RemoteOutcome(True, "", done, reply)
        # Branch on the implant's code, never on its sentence (shown when no message fits).
        code = reply.code or (
            DeviceRefusal.UNCHANGED.value
            if reply.status is ReplyStatus.OK
            else RefusalCode.DEVICE_REFUSED.value
        )
        return RemoteOutcome(False, code, _MESSAGES.get(code, reply.message or code), reply)

    def set_amplitude(self, area: str, amplitude: Qty) -> RemoteOutcome:
        check_dimension(amplitude, "amplitude", Dimension.CURRENT)
        return self._ask(
            Op.SET_AMPLITUDE,
            {"area": area, "amplitude": quantity_json(amplitude)},
            f"Amplitude set to {amplitude:~P}.",
        )

    def step(self, step: Qty, *, area: str | None = None, up: bool = True) -> RemoteOutcome:
        """Amplitude one ``step`` up or down from the running amplitude (read first)."""
        check_dimension(step, "step", Dimension.CURRENT)
        if not above(step, Q_(0.0, step.units)):  # NaN breaks it too
            raise InputError("step", "must be greater than zero", "e.g. '0.1 mA'")
        a = self.status().area(area)
        new = (a.amplitude + step if up else a.amplitude - step).to(a.amplitude.units)
        return self.set_amplitude(a.name, new)

    def select_group(self, group: str) -> RemoteOutcome:
        return self._ask(Op.SELECT_GROUP, {"group": group}, f"Program {group} selected.")

    def stimulation(self, on: bool) -> RemoteOutcome:
        return self._ask(
            Op.STIMULATION, {"on": on}, "Stimulation on." if on else "Stimulation off."
        )


__all__ = ["PatientRemote", "RemoteArea", "RemoteOutcome", "RemoteStatus"]
