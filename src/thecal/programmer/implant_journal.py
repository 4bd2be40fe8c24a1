"""What the implant remembers between commands: settings, the journal and the staging (pure).

* The **journal** maps a command id to its stored reply (the last ``journal_size`` acting
  commands): a retry of a known id is answered from it and never executed again; the same id
  for another operation or role is refused (``id-reused``).
* The **staging** is one session's staged program: written by ``program_stage``, read back by
  ``program_read_staged``, written to the device by ``program_commit``, discarded with the
  session — never the active program.
"""

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from thecal.devices.pump import Program
from thecal.link.roles import Role
from thecal.programmer.commands import Op, Qty, Reply
from thecal.programmer.paging import PAGE_OVERHEAD
from thecal.stimulation.program import Program as StimulationProgram
from thecal.units import Dimension, InputError, check_dimension


@dataclass(frozen=True)
class ServerSettings:
    """``max_command_age``: staleness bound (time); ``journal_size``: stored replies kept;
    ``page_bytes``: the longest reply sent whole (frames are ≤ 64 KiB): an interrogation fills
    it with log events, and any longer reply is paged (:mod:`thecal.programmer.paging`).
    Product choices, required here: the shipped values are in ``thecal/data/link.toml``
    ``[commands]`` (read by :mod:`thecal.adapters.link_settings`)."""

    max_command_age: Qty
    journal_size: int
    page_bytes: int

    def __post_init__(self) -> None:
        check_dimension(self.max_command_age, "max_command_age", Dimension.TIME)
        if self.max_command_age.magnitude <= 0:
            raise InputError("max_command_age", "must be greater than zero", "e.g. '60 s'")
        # 60 000 + the reply envelope and frame overhead stays below the 64 KiB frame.
        if self.journal_size < 1 or not 2 * PAGE_OVERHEAD <= self.page_bytes <= 60_000:
            raise ValueError(f"journal_size >= 1 and {2 * PAGE_OVERHEAD} <= page_bytes <= 60000")


@dataclass(frozen=True)
class ServerLogRecord:
    """One implant-side command-layer log record (the link logs its own frames)."""

    serial: str
    peer: str
    event: str  # command | reply | refused | error | session
    op: str = ""
    command_id: str = ""
    detail: str = ""


ServerLogger = Callable[[ServerLogRecord], None]


def no_log(_r: ServerLogRecord) -> None:
    return None


@dataclass
class Staging:
    """The staged program of one session (never the active one): a pump's ``program``, or a
    stimulator's group (``group`` and ``stim_program``)."""

    program: Program | None = None
    digest: str = ""
    document: dict[str, Any] = field(default_factory=dict)
    group: str = ""
    stim_program: StimulationProgram | None = None

    @property
    def empty(self) -> bool:
        return self.program is None and self.stim_program is None

    def clear(self) -> None:
        self.program, self.digest, self.document = None, "", {}
        self.group, self.stim_program = "", None


@dataclass(frozen=True)
class JournalEntry:
    op: Op
    role: Role
    reply: Reply


class Journal:
    """Command id → stored reply, oldest first, at most ``size`` entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, JournalEntry] = OrderedDict()

    def get(self, command_id: str) -> JournalEntry | None:
        return self._entries.get(command_id)

    def record(self, command_id: str, op: Op, role: Role, reply: Reply) -> None:
        """Store an acting command's reply; the oldest entries go beyond ``size``."""
        self._entries[command_id] = JournalEntry(op, role, reply)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def entries(self, ops: frozenset[Op] | None = None) -> list[dict[str, Any]]:
        """Stored outcomes, oldest first (optionally only ``ops``): the implant's record."""
        return [
            {
                "id": cid,
                "op": e.op.value,
                "code": e.reply.code,
                "processed": e.reply.processed,
                "state_changed": e.reply.state_changed,
                "device_time": e.reply.device_time.isoformat(),
                "log_seq": e.reply.data.get("log_seq"),
            }
            for cid, e in self._entries.items()
            if ops is None or e.op in ops
        ]


__all__ = [
    "Journal",
    "JournalEntry",
    "ServerLogRecord",
    "ServerLogger",
    "ServerSettings",
    "Staging",
    "no_log",
]
