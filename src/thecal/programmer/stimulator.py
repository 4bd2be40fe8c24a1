"""The clinician's stimulator programmer (pure): interrogate, impedance test, write a group
program (stage, read back, verify, commit), amplitude, group, stimulation on/off, MRI mode.

**Verify before commit.** A group program is staged; the programmer reads the staged copy back,
decodes it as the implant understood it, checks it equals the program meant (every area,
contact, share and quantity) and that its digest is the one the implant gave, and only then
commits by that digest. The firmware's own gate still decides (Shannon k on every contact,
the IPG's ranges): a refusal comes back as a stable code with its findings.

**Uncertain state.** As for the pump (:class:`~thecal.programmer.pending.PendingCommand`):
when an acting command's acknowledgement is lost, every new acting command is refused until
an interrogation has read the implant's journal, which says whether it ran.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from thecal.devices.log import LogEvent
from thecal.devices.refusals import CommandResult
from thecal.devices.stimulator import ImpedanceReport, StimulatorStatus
from thecal.programmer.clinician_session import (
    CommandRefused,
    ProgrammerError,
    UncertainDelivery,
)
from thecal.programmer.commands import (
    DOSING_OPS,
    Op,
    Qty,
    Reply,
    ReplyStatus,
    program_digest,
    quantity_json,
)
from thecal.programmer.link_client import AckLost, CommandChannel
from thecal.programmer.pending import PendingCommand
from thecal.programmer.wire_device import event_from_json, result_from_json
from thecal.programmer.wire_stim_program import stim_program_from_json, stim_program_to_json
from thecal.programmer.wire_stimulator import (
    impedance_from_json,
    read_amplitudes,
    stim_status_from_json,
)
from thecal.stimulation.program import Program


@dataclass(frozen=True)
class StimInterrogation:
    """Status, the log events new since the previous interrogation, the journal, and what the
    journal says about a formerly uncertain command (its entry, or None if it never ran)."""

    status: StimulatorStatus
    events: tuple[LogEvent, ...]
    journal: tuple[Mapping[str, Any], ...]
    settled: PendingCommand | None = None
    settled_entry: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ImpedanceOutcome:
    """An impedance test: the report (None when refused), the running amplitudes and the
    firmware's safe maxima after it (the clamp may have lowered an amplitude)."""

    report: ImpedanceReport | None
    result: CommandResult
    amplitudes: tuple[tuple[str, Qty], ...]
    safe_max: tuple[tuple[str, Qty | None], ...]
    disabled_contacts: tuple[str, ...]


class ReadBackMismatch(ProgrammerError):
    """The staged group read back is not the program meant: nothing was committed."""


class StimulatorProgrammer:
    """One clinician session with one stimulator over a command channel."""

    def __init__(self, channel: CommandChannel) -> None:
        self.channel = channel
        self.uncertain: PendingCommand | None = None
        self.events: list[LogEvent] = []
        self.status: StimulatorStatus | None = None

    # -- sending ----------------------------------------------------------------------------

    def _send(self, op: Op, args: Mapping[str, Any] | None = None) -> Reply:
        if op in DOSING_OPS and self.uncertain is not None:
            raise UncertainDelivery(
                f"the outcome of {self.uncertain.op.value} ({self.uncertain.command_id}) is "
                "unknown: interrogate the stimulator before any new change"
            )
        seq = self.events[-1].seq if self.events else None
        try:
            reply = self.channel.call(op, args)
        except AckLost as exc:
            if op in DOSING_OPS:
                self.uncertain = PendingCommand.of(exc.command, seq)
            raise
        if reply.status is not ReplyStatus.OK:
            raise CommandRefused(reply)
        return reply

    def _result(self, op: Op, args: Mapping[str, Any] | None = None) -> CommandResult:
        """Send an acting command; the device's result (a device refusal carries its code)."""
        return result_from_json(self._send(op, args).data.get("result"))

    # -- reading ------------------------------------------------------------------------------

    def interrogate(self) -> StimInterrogation:
        """Status, journal and every log event since the last interrogation (paged); settles
        an uncertain command from the implant's journal."""
        since = self.events[-1].seq if self.events else 0
        data = self._send(Op.INTERROGATE, {"since_seq": since}).data
        serial = str(data.get("serial", ""))
        status = stim_status_from_json(data.get("status"))
        journal = tuple(data.get("journal", ()))
        new = [event_from_json(e, serial) for e in data.get("events", [])]
        more = bool(data.get("more"))
        while more:
            since = new[-1].seq if new else since
            page = self._send(Op.INTERROGATE, {"since_seq": since, "status": False}).data
            new += [event_from_json(e, serial) for e in page.get("events", [])]
            more = bool(page.get("more"))
        self.status = status
        self.events += new
        settled, entry = self.uncertain, None
        if settled is not None:
            entry = settled.journal_entry(journal)
            self.uncertain = None  # the implant's record has been read: it decides
        return StimInterrogation(status, tuple(new), journal, settled, entry)

    # -- acting -------------------------------------------------------------------------------

    def impedance_test(self) -> ImpedanceOutcome:
        """Measure every contact; the firmware clamps amplitudes it can no longer drive."""
        d = self._send(Op.IMPEDANCE_TEST).data
        imp = d.get("impedance")
        return ImpedanceOutcome(
            None if imp is None else impedance_from_json(imp),
            result_from_json(d.get("result")),
            tuple(read_amplitudes(d.get("amplitudes", []), "amplitudes", optional=False)),
            tuple(read_amplitudes(d.get("safe_max", []), "safe_max", optional=True)),
            tuple(str(c) for c in d.get("disabled_contacts", [])),
        )

    def write_group(self, group: str, program: Program) -> CommandResult:
        """Stage ``program`` as ``group``, read it back, verify it, commit it by digest."""
        doc = {"group": group, "program": stim_program_to_json(program)}
        staged = self._send(Op.GROUP_STAGE, dict(doc))
        digest = str(staged.data.get("digest", ""))
        back = self._send(Op.GROUP_READ_STAGED).data
        got = {"group": back.get("group"), "program": back.get("program")}
        if back.get("digest") != digest or program_digest(got) != digest:
            raise ReadBackMismatch("the staged copy's digest does not match: nothing committed")
        if got["group"] != group or stim_program_from_json(got["program"]) != program:
            raise ReadBackMismatch(
                "the stimulator understood a different program: nothing committed"
            )
        return self._result(Op.GROUP_COMMIT, {"digest": digest})

    def set_amplitude(self, area: str, amplitude: Qty) -> CommandResult:
        """A clinician's change (the firmware's limits and clamp apply; it rewrites the
        running group, widening the patient's range if the new amplitude is outside it)."""
        return self._result(Op.SET_AMPLITUDE, {"area": area, "amplitude": quantity_json(amplitude)})

    def select_group(self, group: str) -> CommandResult:
        return self._result(Op.SELECT_GROUP, {"group": group})

    def stimulation(self, on: bool) -> CommandResult:
        return self._result(Op.STIMULATION, {"on": on})

    def mri_mode(self, on: bool) -> CommandResult:
        return self._result(Op.MRI_MODE, {"on": on})


__all__ = ["ImpedanceOutcome", "ReadBackMismatch", "StimInterrogation", "StimulatorProgrammer"]
