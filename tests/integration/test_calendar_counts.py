"""The calendar's counts per status come from refill_due_days (migration 0010), kept beside
refill_schedule: they must equal the rows the calendar lists, on both sides of every window
edge, and equal a fresh GROUP BY of the schedule after any writes and after the backfill."""

import dataclasses
import random
from datetime import datetime, time, timedelta

from sqlalchemy import Engine, text

from tests.unit.clinic import random_clinic
from thecal.clinic.calendar import RefillStatus, calendar_page, status_windows
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.ports import DueWindow
from thecal.store.migrate import downgrade, upgrade
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_

SOON = Q_(7, "d")
TODAY = random_clinic.TODAY
MIDNIGHT = datetime.combine(TODAY, time())
TICK = timedelta(microseconds=1)
# Due dates on each side of each edge: today's midnight, tomorrow's (today + 1 d) and the
# end of "due soon" (tomorrow + 7 d = today + 8 d, classify's today + soon inclusive).
EDGES = {
    MIDNIGHT - TICK: RefillStatus.OVERDUE,
    MIDNIGHT: RefillStatus.DUE,
    MIDNIGHT + timedelta(days=1) - TICK: RefillStatus.DUE,
    MIDNIGHT + timedelta(days=1): RefillStatus.DUE_SOON,
    MIDNIGHT + timedelta(days=8) - TICK: RefillStatus.DUE_SOON,
    MIDNIGHT + timedelta(days=8): RefillStatus.SCHEDULED,
}


def _due_days(engine: Engine) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(refill_due_days without empty days, the same counted from refill_schedule)."""
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT day, n FROM refill_due_days WHERE n > 0 ORDER BY day"))
        fresh = conn.execute(text(
            "SELECT date(due) AS d, count(*) FROM refill_schedule WHERE due IS NOT NULL "
            "GROUP BY date(due) ORDER BY d"
        ))  # fmt: skip
        return [(str(d), n) for d, n in kept], [(str(d), n) for d, n in fresh]


def _with_edge_refills(uow: object) -> dict[str, RefillStatus]:
    """A random clinic, then one new latest refill due exactly on each edge for six pump
    patients (planned appointment cleared so refill_by decides)."""
    random_clinic.build(uow, seed=21, patients=60)
    expected: dict[str, RefillStatus] = {}
    with uow.reader() as repo:  # type: ignore[attr-defined]
        pumps = [d for d in repo.devices_in_place() if d.kind.value in ("pump", "trial-pump")]
    at = random_clinic.START + timedelta(hours=1)
    with uow.transaction("nina", at, "edge refills") as repo:  # type: ignore[attr-defined]
        for k, (due, status) in enumerate(EDGES.items()):
            device = pumps[k]
            base = random_clinic._refill(device.patient_id, device.id, at, random.Random(k),
                                         f"edge{k}")  # fmt: skip
            repo.add_refill(dataclasses.replace(base, refill_by=due, planned_refill=None))
            expected[device.patient_id] = status
    return expected


def test_counts_equal_listed_rows_on_each_edge(uow: SqlUnitOfWork) -> None:
    memory = MemoryUnitOfWork()
    expected = _with_edge_refills(uow)
    assert _with_edge_refills(memory) == expected
    for today in (TODAY, TODAY - timedelta(days=1), TODAY + timedelta(days=8)):
        with uow.reader() as sql, memory.reader() as mem:
            for window in status_windows(today, SOON).values():
                listed = sql.calendar_rows(window, None, 0)
                assert sql.count_refills_due(window) == len(listed)
                assert mem.count_refills_due(window) == len(listed)
                assert listed == mem.calendar_rows(window, None, 0)
    with uow.reader() as sql:
        page = calendar_page(sql, TODAY, SOON, limit=None)
    shown = {e.patient_id: e.status for e in page.entries}
    assert {p: shown[p] for p in expected} == expected
    for status in RefillStatus:
        assert page.counts[status] == sum(e.status is status for e in page.entries)


def test_non_midnight_windows_count_by_range(uow: SqlUnitOfWork) -> None:
    expected = _with_edge_refills(uow)
    # Not between midnights, so counted on refill_schedule itself: start inclusive, end
    # exclusive, so of the edge refills only the one due at tomorrow − 1 µs is inside.
    window = DueWindow(MIDNIGHT + TICK, MIDNIGHT + timedelta(days=1))
    inside = [p for p, due in zip(expected, EDGES, strict=True)
              if MIDNIGHT + TICK <= due < MIDNIGHT + timedelta(days=1)]  # fmt: skip
    with uow.reader() as sql:
        listed = [p.id for p, _ in sql.calendar_rows(window, None, 0)]
        assert sql.count_refills_due(window) == len(listed)
    assert [p for p in listed if p in expected] == inside and len(inside) == 1


def test_per_day_counts_follow_writes_and_the_backfill(engine: Engine) -> None:
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    _with_edge_refills(uow)  # includes explanted pumps (rows deleted) and moved due dates
    kept, fresh = _due_days(engine)
    assert kept == fresh and len(kept) > 20
    downgrade(engine, "0009")
    upgrade(engine)  # 0010 fills it with its SQL
    assert _due_days(engine) == (fresh, fresh)
