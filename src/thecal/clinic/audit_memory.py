"""The audit log read of the in-memory store (:class:`~thecal.clinic.audit_view.AuditRecords`).

The memory store keeps who, when, why and which record, not a copy of what was written, so
entries carry no ``data`` (no change summary) and a patient's entries are found through the
records still in the state that name the patient."""

from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass
from typing import Any

from thecal.clinic.audit_view import AuditQuery, AuditRecord


def _records(state: Any) -> Iterable[Any]:
    for f in fields(state):
        value = getattr(state, f.name)
        if isinstance(value, dict):
            yield from value.values()
        elif isinstance(value, list):
            yield from value


def _owners(state: Any) -> dict[str, str]:
    """Record id → the patient it names, over every record kind the state holds."""
    owners: dict[str, str] = {}
    for r in _records(state):
        if not is_dataclass(r):
            continue
        rid, pid = getattr(r, "id", None), getattr(r, "patient_id", None)
        if isinstance(rid, str) and isinstance(pid, str):
            owners[rid] = pid
    return owners


class MemoryAuditRecords:
    """Mixed into :class:`~thecal.clinic.memory.MemoryRepository` (``_s`` is its state)."""

    _s: Any

    def audit_entries(self, query: AuditQuery, limit: int, offset: int) -> Sequence[AuditRecord]:
        start, end = query.window()
        owners = _owners(self._s) if query.patient_id else {}
        found: list[AuditRecord] = []
        # The log's order is its list order (seq = position + 1); newest first.
        for seq, e in reversed(list(enumerate(self._s.audit, start=1))):
            at = e.at.astimezone().replace(tzinfo=None) if e.at.tzinfo else e.at  # as the store
            if query.who is not None and e.actor != query.who:
                continue
            if query.what is not None and query.what not in (e.action, e.entity):
                continue
            if (start is not None and at < start) or (end is not None and at >= end):
                continue
            if query.patient_id is not None:
                own = e.entity_id if e.entity == "patient" else owners.get(e.entity_id)
                if own != query.patient_id:
                    continue
            found.append(AuditRecord(seq, at, e.actor, e.action, e.entity, e.entity_id,
                                     e.reason))  # fmt: skip
        return found[offset : offset + limit]
