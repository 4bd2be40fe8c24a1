"""A command whose outcome is unknown: the one pending-command type of both controllers (pure).

When a dosing command's acknowledgement is lost (``AckLost``), the command *may* have run. The
clinician programmer and the patient controller both record it as a :class:`PendingCommand`
and refuse new dosing commands until the implant's own record (its command journal) has been
re-read: the implant's record wins, never a blind retry.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from thecal.programmer.commands import Command, Op


@dataclass(frozen=True)
class PendingCommand:
    """A command sent without acknowledgement.

    ``issued_at``: the implant time it was issued at (None if unknown); ``seq_before``: the
    last implant log sequence number known when it was sent (None when the controller does not
    read the log, as the patient controller does not): dosing events after it are the ones to
    reconcile."""

    command_id: str
    op: Op
    issued_at: datetime | None
    seq_before: int | None = None

    @classmethod
    def of(cls, command: Command, seq_before: int | None = None) -> "PendingCommand":
        """The pending record of a command as sent."""
        return cls(command.command_id, command.op, command.issued_at, seq_before)

    def journal_entry(self, journal: Iterable[Any]) -> Mapping[str, Any] | None:
        """This command's entry in the implant's journal, if there is one: only the implant's
        record of *this* command id says whether it ran (another entry says nothing)."""
        return next(
            (j for j in journal if isinstance(j, Mapping) and j.get("id") == self.command_id),
            None,
        )


__all__ = ["PendingCommand"]
