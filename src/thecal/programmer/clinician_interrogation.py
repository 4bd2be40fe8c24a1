"""Interrogation and reconciliation: read the implant's record, settle a pending command (pure).

:func:`interrogate` reads the status, the command journal and every log event since the last
interrogation (paged by the implant). If a dosing command was pending (its acknowledgement was
lost), the implant's journal decides whether it ran: :class:`Reconciliation` reports it with
the dosing events logged since it was sent. The programmer never re-sends it on its own.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from thecal.devices.log import EventKind, LogEvent
from thecal.devices.pump import DeviceStatus
from thecal.programmer.clinician_session import Session
from thecal.programmer.commands import Op
from thecal.programmer.wire_device import event_from_json, status_from_json


@dataclass(frozen=True)
class Reconciliation:
    """What the implant's record says about a formerly uncertain command."""

    command_id: str
    op: str
    executed: bool
    state_changed: bool
    code: str
    dosing_events: tuple[LogEvent, ...]


@dataclass(frozen=True)
class InterrogationReport:
    status: DeviceStatus
    events: tuple[LogEvent, ...]  # new since the previous interrogation (all on the first)
    journal: tuple[Mapping[str, Any], ...]
    reconciled: Reconciliation | None = None


def interrogate(s: Session) -> InterrogationReport:
    """Status, journal and every log event since the last interrogation (paged).

    Settles an uncertain command from the implant's record."""
    since = s.cache.events[-1].seq if s.cache.events else 0
    first = s.require(s.channel.call(Op.INTERROGATE, {"since_seq": since}))
    data = first.data
    serial = data.get("serial", "")
    status = status_from_json(data["status"], s.library.get)
    journal = tuple(data.get("journal", ()))
    new: list[LogEvent] = [event_from_json(e, serial) for e in data["events"]]
    more = bool(data.get("more"))
    while more:
        since = new[-1].seq if new else since
        page = s.require(s.channel.call(Op.INTERROGATE, {"since_seq": since, "status": False})).data
        new += [event_from_json(e, serial) for e in page["events"]]
        more = bool(page.get("more"))
    s.cache.status, s.cache.journal = status, journal
    s.cache.events += new
    reconciled = reconcile(s, journal) if s.uncertain is not None else None
    return InterrogationReport(status, tuple(new), journal, reconciled)


def reconcile(s: Session, journal: tuple[Mapping[str, Any], ...]) -> Reconciliation:
    """Settle the pending command from the implant's journal and log (it is then cleared)."""
    u = s.uncertain
    assert u is not None
    entry = u.journal_entry(journal)
    seq_before = u.seq_before or 0
    dosing = tuple(
        e
        for e in s.cache.events
        if e.seq > seq_before
        and e.kind in (EventKind.BOLUS_START, EventKind.PTB_GRANTED, EventKind.PROGRAM_WRITTEN)
    )
    s.uncertain = None
    if entry is None:
        # Not in the implant's journal: it never reached the device.
        return Reconciliation(u.command_id, u.op.value, False, False, "", dosing)
    return Reconciliation(
        u.command_id,
        u.op.value,
        bool(entry.get("processed")),
        bool(entry.get("state_changed")),
        str(entry.get("code", "")),
        dosing,
    )


__all__ = ["InterrogationReport", "Reconciliation", "interrogate", "reconcile"]
