"""The refill calendar's index (refill_schedule): one row per patient with a drug pump in
place, holding the latest refill and when the next one is due, and its counts per due day
(refill_due_days). Both kept current in the same transaction as every refill or device write;
``count_due`` counts a due window, ``due_page`` reads one page of it."""

import json
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from thecal.clinic.calendar import next_due
from thecal.clinic.model import DeviceKind, Patient, RefillCandidateRecord
from thecal.clinic.ports import DueRefill, DueWindow, decided_source
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
    if old is not None:
        session.execute(
            update(RefillDueDayRow).where(RefillDueDayRow.day == old)
            .values(n=RefillDueDayRow.n - 1)
        )  # fmt: skip
    if new is not None:
        # An upsert: two transactions adding the first refill due on one day must not clash.
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(RefillDueDayRow).values(day=new, n=1)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[RefillDueDayRow.day], set_={"n": RefillDueDayRow.n + 1}
        ))  # fmt: skip


def _midnight(at: datetime | None) -> bool:
    return at is None or at.time() == time()


def count_due(session: Session, window: DueWindow) -> int:
    """How many schedule rows fall in ``window``. A window between midnights (the calendar's
    statuses) is a sum over refill_due_days; any other one an index range count."""
    if window.undated or not (_midnight(window.start) and _midnight(window.end)):
        count = session.scalar(
            select(func.count()).select_from(RefillScheduleRow).where(*due_where(window))
        )
        return int(count or 0)
    # start <= due < end with both at 00:00  <=>  start's day <= due's day < end's day.
    day = RefillDueDayRow.day
    where: list[ColumnElement[bool]] = []
    if window.start is not None:
        where.append(day >= window.start.date())
    if window.end is not None:
        where.append(day < window.end.date())
    total = session.scalar(select(func.sum(RefillDueDayRow.n)).where(*where))
    return int(total or 0)


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
    s, r = RefillScheduleRow, RefillRow
    # The page's keys first (a covering index scan, cheap to skip), then the joins for
    # those rows only: OFFSET over the joined rows would build every skipped row.
    keys = (
        select(s.patient_id, s.refill_id, s.due)
        .where(*due_where(window))
        .order_by(s.due, s.patient_id)
        .offset(offset)
    )
    if limit is not None:
        keys = keys.limit(limit)
    page = keys.subquery()
    query = (
        select(*PATIENT_COLUMNS, r.id, r.refill_by, r.decided_by, r.candidates,
               r.planned_refill, r.performed_at, r.by)
        .select_from(page)
        .join(PatientRow, PatientRow.id == page.c.patient_id)
        .outerjoin(r, r.id == page.c.refill_id)
        .order_by(page.c.due, page.c.patient_id)
    )  # fmt: skip
    n = len(PATIENT_COLUMNS)
    out: list[tuple[Patient, DueRefill | None]] = []
    for row in session.execute(query):
        values: tuple[Any, ...] = tuple(row)  # column types checked by the row classes
        refill_id, refill_by, decided_by, candidates, planned, performed_at, by = values[n:]
        due = None if refill_id is None else DueRefill(
            refill_by, decided_by, _source(candidates, refill_by, decided_by), planned,
            performed_at, by,
        )  # fmt: skip
        out.append((Patient(*values[:n]), due))
    return out


def _source(candidates: str, refill_by: datetime | None, decided_by: str) -> str:
    parsed: Sequence[RefillCandidateRecord] = [
        RefillCandidateRecord(datetime.fromisoformat(c["at"]), c["kind"], c["reason"],
                              c["source"])
        for c in json.loads(candidates)
    ]  # fmt: skip
    return decided_source(parsed, refill_by, decided_by)
