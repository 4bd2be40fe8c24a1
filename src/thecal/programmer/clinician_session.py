"""What one clinician programmer session knows and how it sends (pure).

:class:`Session` holds the channel, the last interrogation (status, log events, journal), the
admixture this session's refill put in and the :class:`~thecal.programmer.pending.
PendingCommand` of a dosing command whose acknowledgement was lost. Every workflow module
(interrogation, program write, bolus, refill, clock, MRI) works on a session;
:class:`~thecal.programmer.clinician.ClinicianProgrammer` is their facade.

**Uncertain state.** If a dosing command's acknowledgement is lost, :meth:`Session.send`
records it as pending and refuses every new dosing command (:class:`UncertainDelivery`) until
an interrogation has re-read the implant's journal and log.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from thecal.devices.log import EventKind, LogEvent
from thecal.devices.pump import DeviceStatus
from thecal.programmer.commands import DOSING_OPS, Op, Qty, Reply, ReplyStatus
from thecal.programmer.link_client import AckLost, CommandChannel
from thecal.programmer.pending import PendingCommand
from thecal.therapy.admixture import Admixture
from thecal.therapy.delivery import DeliveryModel, hours
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import Patient
from thecal.therapy.pump import PumpSpec
from thecal.units import Q_

if TYPE_CHECKING:
    from thecal.programmer.clinician_interrogation import InterrogationReport


class ProgrammerError(Exception):
    """A workflow step cannot go ahead; the message says why in words a nurse understands."""


class UncertainDelivery(ProgrammerError):
    """A dosing command's outcome is unknown: re-interrogate before any new dosing command."""


class CommandRefused(ProgrammerError):
    """The implant refused the command (``reply.code`` says why)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        super().__init__(f"{reply.op} refused: {reply.code or reply.status.value} {reply.message}")


class NotConfirmed(ProgrammerError):
    """A program change was not confirmed by the clinician."""


@dataclass
class Cache:
    """The last interrogation: status, every log event read so far, the journal."""

    status: DeviceStatus | None = None
    events: list[LogEvent] = field(default_factory=list)
    journal: tuple[Mapping[str, Any], ...] = ()


class Session:
    """One clinician programmer session with one implant.

    ``pump_spec`` maps the implant's model (from interrogation) to its catalog entry.
    """

    def __init__(
        self,
        channel: CommandChannel,
        library: DrugLibrary,
        pump_spec: Callable[[str], PumpSpec],
        patient: Patient | None = None,
    ) -> None:
        self.channel = channel
        self.library = library
        self._pump_spec = pump_spec
        self.patient = patient or Patient()
        self.uncertain: PendingCommand | None = None
        self.cache = Cache()
        self.reservoir: Admixture | None = None  # what this session's refill put in

    def interrogate(self) -> "InterrogationReport":
        """Status, journal and every log event since the last interrogation (paged)."""
        # The interrogation workflow works on a Session: imported on use, no import cycle.
        from thecal.programmer.clinician_interrogation import interrogate

        return interrogate(self)

    @property
    def status(self) -> DeviceStatus:
        if self.cache.status is None:
            self.interrogate()
        assert self.cache.status is not None
        return self.cache.status

    @property
    def events(self) -> tuple[LogEvent, ...]:
        return tuple(self.cache.events)

    @property
    def spec(self) -> PumpSpec:
        return self._pump_spec(self.status.model)

    def basal_rate_now(self) -> Qty:
        """The basal rate (mL/d) the implant's program runs at its clock (0 without a program)."""
        st = self.status
        if st.program is None:
            return Q_(0.0, "mL/d")
        rate = DeliveryModel(st.program.schedule).rate_at(hours(st.device_time))
        return Q_(rate, "mL/h").to("mL/d")

    def previous_started(self) -> datetime:
        """When the active program was written (the device time if the log does not say)."""
        written = [e for e in self.cache.events if e.kind is EventKind.PROGRAM_WRITTEN]
        return written[-1].at if written else self.status.device_time

    def send(self, op: Op, args: Mapping[str, Any] | None = None) -> Reply:
        """Send one command; a dosing one is refused while another's outcome is unknown, and
        becomes pending itself if its acknowledgement is lost."""
        if op in DOSING_OPS and self.uncertain is not None:
            raise UncertainDelivery(
                f"the outcome of {self.uncertain.op.value} "
                f"({self.uncertain.command_id}) is unknown: interrogate the implant "
                "before any new dosing command"
            )
        seq_before = self.cache.status.last_seq if self.cache.status else 0
        if self.cache.events:
            seq_before = max(seq_before, self.cache.events[-1].seq)
        try:
            return self.channel.call(op, args)
        except AckLost as exc:
            if op in DOSING_OPS:
                self.uncertain = PendingCommand.of(exc.command, seq_before)
            raise

    @staticmethod
    def require(reply: Reply) -> Reply:
        """``reply`` if the implant processed the command, else :class:`CommandRefused`."""
        if reply.status is not ReplyStatus.OK:
            raise CommandRefused(reply)
        return reply


__all__ = [
    "Cache",
    "CommandRefused",
    "NotConfirmed",
    "ProgrammerError",
    "Session",
    "UncertainDelivery",
]
