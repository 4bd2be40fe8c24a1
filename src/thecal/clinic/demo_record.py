"""The demo clinic computed in memory, then written to a store in one go.

The demo runs every clinic workflow (safety gate, refill assessment, findings and their
reasons) against :class:`RecordingUnitOfWork`: an in-memory state without the per-transaction
copies of :class:`~thecal.clinic.memory.MemoryUnitOfWork` (the demo never needs a rollback:
a failing demo write fails the whole seeding), which records every write with the (actor,
time, reason) of its transaction. :func:`replay` then applies the recorded writes, in order, to
another repository factory: the database's, inside ONE transaction, so each write keeps its
own audit row (actor, time, reason) and the seeding is all-or-nothing.

Pure: no I/O; the caller passes the store's repositories in.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from thecal.clinic.memory import MemoryRepository, MemoryUnitOfWork
from thecal.clinic.ports import ClinicRepository

# Repository methods that write (everything else reads).
_WRITES = ("add_", "update_", "revise_", "set_", "put_", "settle_")

Who = tuple[str, datetime, str]


@dataclass
class RecordedTransaction:
    """One workflow transaction: who wrote, when, why, and the repository calls it made."""

    who: Who
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)


class _Recording:
    """Forwards to a memory repository and records each write call."""

    def __init__(self, repo: MemoryRepository, record: RecordedTransaction) -> None:
        self._repo = repo
        self._record = record

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._repo, name)
        if not name.startswith(_WRITES):
            return attr

        def write(*args: Any, **kwargs: Any) -> Any:
            self._record.calls.append((name, args, kwargs))
            return attr(*args, **kwargs)

        return write


class RecordingUnitOfWork(MemoryUnitOfWork):
    """An in-memory unit of work that writes in place (no copy per transaction, so a
    workflow that raises leaves its partial writes: only for the demo loader, which then
    stops) and keeps every transaction's writes in :attr:`log`."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[RecordedTransaction] = []

    @contextmanager
    def transaction(self, actor: str, at: datetime, reason: str) -> Iterator[ClinicRepository]:
        record = RecordedTransaction((actor, at, reason))
        yield cast(ClinicRepository, _Recording(MemoryRepository(self.state, record.who), record))
        if record.calls:
            self.log.append(record)

    @contextmanager
    def reader(self) -> Iterator[ClinicRepository]:
        yield MemoryRepository(self.state, None)

    @property
    def writes(self) -> int:
        """How many repository writes were recorded."""
        return sum(len(t.calls) for t in self.log)


def replay(
    log: list[RecordedTransaction],
    repository: Callable[[Who], ClinicRepository],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Apply ``log`` in order: each recorded transaction's calls on ``repository(who)`` (the
    caller's repositories share one database transaction). ``progress`` is told how many
    writes were applied after each transaction."""
    for record in log:
        repo = repository(record.who)
        for name, args, kwargs in record.calls:
            getattr(repo, name)(*args, **kwargs)
        if progress is not None:
            progress(len(record.calls))
