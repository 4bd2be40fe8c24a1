"""The append-only, hash-chained audit log of every write.

Each row stores who, when, what (the record as written, canonical JSON), why, the hash of the
previous row, and its own hash = sha256(previous hash ‖ canonical JSON of its fields). A single
head row (last seq and hash) is locked by each writer, so concurrent writers serialise rather
than fork the chain. :func:`verify` recomputes the chain: a modified row changes its hash, a
deleted or inserted row breaks the sequence or the links, a deleted tail disagrees with the
head. (Someone able to rewrite the whole table and the head consistently is not detected by
the database alone: record the head hash printed by ``thecal audit verify`` elsewhere.)
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from thecal.clinic.audit_view import AuditQuery, AuditRecord
from thecal.store.schema import AuditHeadRow, AuditRow

GENESIS = "0" * 64
HEAD_ID = 1


def canonical(data: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def row_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity: str,
    entity_id: str, reason: str, data: str,
) -> str:  # fmt: skip
    body = canonical({
        "seq": seq, "at": at.isoformat(), "actor": actor, "action": action, "entity": entity,
        "entity_id": entity_id, "reason": reason, "data": data,
    })  # fmt: skip
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def patient_of(entity: str, entity_id: str, data: Any) -> str | None:
    """The patient an entry is about: the patient itself, else the ``patient_id`` the written
    record names (top level of ``data``); None for records of no patient (users, links)."""
    if entity == "patient":
        return entity_id
    named = data.get("patient_id") if isinstance(data, dict) else None
    return named if isinstance(named, str) else None


def append(
    session: Session, actor: str, at: datetime, action: str, entity: str, entity_id: str,
    reason: str, data: dict[str, Any],
) -> AuditRow:  # fmt: skip
    """Append one audit row in ``session``'s transaction (committed or rolled back with it)."""
    if at.tzinfo is not None:
        at = at.astimezone().replace(tzinfo=None)
    head = session.execute(
        select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditHeadRow(id=HEAD_ID, seq=0, hash=GENESIS)
        session.add(head)
    seq = head.seq + 1
    text = canonical(data)
    digest = row_hash(head.hash, seq, at, actor, action, entity, entity_id, reason, text)
    row = AuditRow(
        seq=seq, at=at, actor=actor, action=action, entity=entity, entity_id=entity_id,
        reason=reason, data=text, prev_hash=head.hash, hash=digest,
        patient_id=patient_of(entity, entity_id, json.loads(text)),
    )  # fmt: skip
    session.add(row)
    head.seq, head.hash = seq, digest
    session.flush()
    return row


@dataclass(frozen=True)
class AuditReport:
    """``ok`` when the chain verifies; ``rows`` checked; ``problems`` one line each;
    ``head`` the last hash (record it outside the database to anchor the chain)."""

    ok: bool
    rows: int
    head: str
    problems: tuple[str, ...]


def _rows(session: Session) -> Iterator[AuditRow]:
    yield from session.execute(select(AuditRow).order_by(AuditRow.seq)).scalars()


def verify(session: Session) -> AuditReport:
    """Recompute the whole chain (see the module docstring for what it detects)."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    count = 0
    for row in _rows(session):
        count += 1
        if row.seq != expected_seq:
            problems.append(
                f"row {row.seq}: expected sequence {expected_seq} (row missing or inserted)"
            )
        if row.prev_hash != prev:
            problems.append(f"row {row.seq}: does not link to the previous row")
        digest = row_hash(
            row.prev_hash, row.seq, row.at, row.actor, row.action, row.entity, row.entity_id,
            row.reason, row.data,
        )  # fmt: skip
        if digest != row.hash:
            problems.append(f"row {row.seq}: content does not match its hash (modified)")
        elif row.patient_id != patient_of(row.entity, row.entity_id, _json(row.data)):
            # Outside the hash: a changed patient would hide the entry from the patient filter.
            problems.append(f"row {row.seq}: its patient does not match its content (modified)")
        prev = row.hash
        expected_seq = row.seq + 1
    head = session.get(AuditHeadRow, HEAD_ID)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != prev:
        problems.append(
            f"head says {head_seq} rows ending {head_hash[:12]}…, log has {expected_seq - 1} "
            f"ending {prev[:12]}… (rows deleted or added)"
        )
    return AuditReport(not problems, count, head_hash, tuple(problems))


def _matching(query: AuditQuery) -> list[ColumnElement[bool]]:
    """The filters as plain column comparisons (no function on a column), so the database
    can use an index on any of them (migration 0011); the patient by the entry's patient
    column (:func:`patient_of`: its own entries and those of the records naming it)."""
    where: list[ColumnElement[bool]] = []
    if query.who is not None:
        where.append(AuditRow.actor == query.who)
    if query.what is not None:
        where.append(or_(AuditRow.action == query.what, AuditRow.entity == query.what))
    start, end = query.window()
    if start is not None:
        where.append(AuditRow.at >= start)
    if end is not None:
        where.append(AuditRow.at < end)
    if query.patient_id is not None:
        where.append(AuditRow.patient_id == query.patient_id)
    return where


def entries(session: Session, query: AuditQuery, limit: int, offset: int) -> list[AuditRecord]:
    """The entries matching ``query``, newest first (by ``seq``, the primary key: the database
    walks its index backwards and stops after ``offset + limit``), each update with the same
    record's previous entry (one lookup per update shown, by entity and seq)."""
    rows = session.execute(
        select(AuditRow).where(*_matching(query)).order_by(AuditRow.seq.desc())
        .limit(limit).offset(offset)
    ).scalars().all()  # fmt: skip
    found: list[AuditRecord] = []
    for r in rows:
        before = None
        if r.action == "update":
            before = session.execute(
                select(AuditRow.data).where(
                    AuditRow.entity == r.entity, AuditRow.entity_id == r.entity_id,
                    AuditRow.seq < r.seq,
                ).order_by(AuditRow.seq.desc()).limit(1)
            ).scalar_one_or_none()  # fmt: skip
        found.append(AuditRecord(
            r.seq, r.at, r.actor, r.action, r.entity, r.entity_id, r.reason,
            _json(r.data), _json(before),
        ))  # fmt: skip
    return found


def _json(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}


class AuditQueries:
    """The audit read of :class:`~thecal.store.repository.SqlRepository` (``session``)."""

    session: Session

    def audit_entries(self, query: AuditQuery, limit: int, offset: int) -> list[AuditRecord]:
        return entries(self.session, query, limit, offset)
