"""The refill calendar's index (refill_schedule): one row per patient with a drug pump in
place, holding the latest refill and when the next one is due, and its counts per due day
(refill_due_days). Both kept current in the same transaction as every refill or device write;
``count_due`` counts a due window, ``due_page`` reads one page of it."""

import json
from datetime import datetime, time
from functools import cache
from typing import Any

from sqlalchemy import Date, DateTime, Integer, Select, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from thecal.clinic.calendar import next_due
from thecal.clinic.model import DeviceKind, Patient
from thecal.clinic.ports import DueRefill, DueWindow
from thecal.store.calendar_counts_schema import RefillDueDayRow
from thecal.store.rows import PATIENT_COLUMNS
from thecal.store.schema import DeviceRow, PatientRow, RefillRow, RefillScheduleRow

DRUG_PUMPS = (DeviceKind.PUMP.value, DeviceKind.TRIAL_PUMP.value)


def sync_schedule(session: Session, patient_id: str) -> None:
    """Recompute one patient's calendar row after a refill or device write (same
    transaction): present while a drug pump is in place, due = next_due(latest refill)."""
    pump = session.scalar(
        select(DeviceRow.id).where(
            DeviceRow.patient_id == patient_id, DeviceRow.removed_on.is_(None),
            DeviceRow.kind.in_(DRUG_PUMPS),
        ).limit(1)
    )  # fmt: skip
    row = session.get(RefillScheduleRow, patient_id)
    before = row.due if row is not None else None
    if pump is None:
        if row is not None:
            session.delete(row)
            _move(session, before, None, was_listed=True)
        return
    last = session.execute(
        select(RefillRow.id, RefillRow.refill_by, RefillRow.planned_refill)
        .where(RefillRow.patient_id == patient_id)
        .order_by(RefillRow.performed_at.desc(), RefillRow.id.desc())
        .limit(1)
    ).first()
    refill_id, due = (last.id, next_due(last.refill_by, last.planned_refill)) if last else (
        None, None)  # fmt: skip
    if row is None:
        session.add(RefillScheduleRow(patient_id=patient_id, refill_id=refill_id, due=due))
    else:
        row.refill_id, row.due = refill_id, due
    _move(session, before, due, was_listed=row is not None)
    session.flush()


def _move(session: Session, before: datetime | None, after: datetime | None,
          was_listed: bool) -> None:  # fmt: skip
    """Keep refill_due_days in step with one schedule row going from ``before`` (when
    ``was_listed``) to ``after`` (None: undated or gone; undated rows are not counted per day)."""
    old = before.date() if was_listed and before is not None else None
    new = after.date() if after is not None else None
    if old == new:
        return
    # Day rows in date order: two writers moving patients between the same two days take
    # their row locks (PostgreSQL) in one order, so they wait rather than deadlock.
    for day, step in sorted((d, k) for d, k in ((old, -1), (new, 1)) if d is not None):
        if step < 0:
            session.execute(
                update(RefillDueDayRow).where(RefillDueDayRow.day == day)
                .values(n=RefillDueDayRow.n - 1)
            )  # fmt: skip
            continue
        # An upsert: two transactions adding the first refill due on one day must not clash.
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(RefillDueDayRow).values(day=day, n=1)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[RefillDueDayRow.day], set_={"n": RefillDueDayRow.n + 1}
        ))  # fmt: skip


def _midnight(at: datetime | None) -> bool:
    return at is None or at.time() == time()


def count_due(session: Session, window: DueWindow) -> int:
    """How many schedule rows fall in ``window``. A window between midnights (the calendar's
    statuses) is a sum over refill_due_days; any other one an index range count."""
    bounds = _bounds(window)
    if window.undated or not (_midnight(window.start) and _midnight(window.end)):
        count = session.scalar(_range_count(window.undated, *_shape(window)), bounds)
        return int(count or 0)
    # start <= due < end with both at 00:00  <=>  start's day <= due's day < end's day.
    days = {k: v.date() for k, v in bounds.items()}
    total = session.scalar(_day_sum(*_shape(window)), days)
    return int(total or 0)


# Statements built once per shape with the bounds as parameters: building a select costs
# more Python than SQLite spends running these (a calendar page runs six of them).
def _shape(window: DueWindow) -> tuple[bool, bool]:
    return window.start is not None, window.end is not None


def _bounds(window: DueWindow) -> dict[str, datetime]:
    if window.undated:
        return {}
    found = {"start": window.start, "end": window.end}
    return {k: v for k, v in found.items() if v is not None}


@cache
def _where(undated: bool, start: bool, end: bool) -> tuple[ColumnElement[bool], ...]:
    due = RefillScheduleRow.due
    if undated:
        return (due.is_(None),)
    where: list[ColumnElement[bool]] = [due.is_not(None)]
    if start:
        where.append(due >= bindparam("start", type_=DateTime))
    if end:
        where.append(due < bindparam("end", type_=DateTime))
    return tuple(where)


@cache
def _range_count(undated: bool, start: bool, end: bool) -> Select[int]:
    return select(func.count()).select_from(RefillScheduleRow).where(
        *_where(undated, start, end))  # fmt: skip


@cache
def _day_sum(start: bool, end: bool) -> Select[int]:
    day = RefillDueDayRow.day
    where: list[ColumnElement[bool]] = []
    if start:
        where.append(day >= bindparam("start", type_=Date))
    if end:
        where.append(day < bindparam("end", type_=Date))
    return select(func.sum(RefillDueDayRow.n)).where(*where)


def due_where(window: DueWindow) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a calendar query over refill_schedule for ``window``."""
    due = RefillScheduleRow.due
    if window.undated:
        return [due.is_(None)]
    where: list[ColumnElement[bool]] = [due.is_not(None)]
    if window.start is not None:
        where.append(due >= window.start)
    if window.end is not None:
        where.append(due < window.end)
    return where


def due_page(
    session: Session, window: DueWindow, limit: int | None, offset: int
) -> list[tuple[Patient, DueRefill | None]]:
    """One calendar page: patients in ``window`` by (due, patient id), ``offset`` then at most
    ``limit`` (None: all), each with what the calendar shows of their latest refill. Reads
    only those columns: whole refill records would parse four volumes each (pint, ~0.3 ms)."""
    params: dict[str, Any] = {**_bounds(window), "offset": offset, "limit": limit}
    query = _page_query(window.undated, *_shape(window), limit is not None)
    n = len(PATIENT_COLUMNS)
    out: list[tuple[Patient, DueRefill | None]] = []
    for row in session.execute(query, params):
        values: tuple[Any, ...] = tuple(row)  # column types checked by the row classes
        refill_id, refill_by, decided_by, candidates, planned, performed_at, by = values[n:]
        due = None if refill_id is None else DueRefill(
            refill_by, decided_by, _source(candidates, refill_by, decided_by), planned,
            performed_at, by,
        )  # fmt: skip
        out.append((Patient(*values[:n]), due))
    return out


@cache
def _page_query(undated: bool, start: bool, end: bool, limited: bool) -> Select[*tuple[Any, ...]]:
    s, r = RefillScheduleRow, RefillRow
    # The page's keys first (a covering index scan, cheap to skip), then the joins for
    # those rows only: OFFSET over the joined rows would build every skipped row.
    keys = (
        select(s.patient_id, s.refill_id, s.due)
        .where(*_where(undated, start, end))
        .order_by(s.due, s.patient_id)
        .offset(bindparam("offset", type_=Integer))
    )
    if limited:
        keys = keys.limit(bindparam("limit", type_=Integer))
    page = keys.subquery()
    return (
        select(*PATIENT_COLUMNS, r.id, r.refill_by, r.decided_by, r.candidates,
               r.planned_refill, r.performed_at, r.by)
        .select_from(page)
        .join(PatientRow, PatientRow.id == page.c.patient_id)
        .outerjoin(r, r.id == page.c.refill_id)
        .order_by(page.c.due, page.c.patient_id)
    )  # fmt: skip


def _source(candidates: str, refill_by: datetime | None, decided_by: str) -> str:
    """:func:`thecal.clinic.ports.decided_source` on the stored JSON; a date is parsed only
    for a candidate whose reason matches."""
    for c in json.loads(candidates):
        if c["reason"] == decided_by and datetime.fromisoformat(c["at"]) == refill_by:
            return str(c["source"])
    return ""
