"""The database's calendar index (refill_schedule, kept by the repository; filled by migration
0003's SQL for existing data) must agree with the in-memory reference on the same clinic."""

import random
from datetime import date, timedelta

from sqlalchemy import Engine, text

from tests.unit.clinic import random_clinic
from tests.unit.clinic.test_registry import SETTINGS
from thecal.clinic.calendar import RefillStatus, calendar_page, status_windows
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.replacement import replacement_plans
from thecal.store.migrate import downgrade, upgrade
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_

SOON = Q_(7, "d")


def _schedule(engine: Engine) -> list[tuple[str, str | None, object]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT patient_id, refill_id, due FROM refill_schedule"))
        return sorted(tuple(r) for r in rows)


def test_sql_calendar_and_replacements_agree_with_memory(uow: SqlUnitOfWork, catalog) -> None:
    memory = MemoryUnitOfWork()
    random_clinic.build(memory, seed=11, patients=150)
    random_clinic.build(uow, seed=11, patients=150)
    specs = {s.model: s for s in catalog.pumps}
    for day in (-30, 0, 1, 7, 45, 700):
        today = random_clinic.TODAY + timedelta(days=day)
        with memory.reader() as mem, uow.reader() as sql:
            for window in status_windows(today, SOON).values():
                assert sql.count_refills_due(window) == mem.count_refills_due(window)
                assert sql.refills_due(window, 7, 3) == mem.refills_due(window, 7, 3)
                assert sql.calendar_rows(window, 7, 3) == mem.calendar_rows(window, 7, 3)
            for statuses in ((RefillStatus.OVERDUE, RefillStatus.DUE), tuple(RefillStatus)):
                assert calendar_page(sql, today, SOON, statuses, 30, 10) == calendar_page(
                    mem, today, SOON, statuses, 30, 10
                )
            for limit in (3, 10, None):
                assert replacement_plans(sql, specs, today, SETTINGS, limit) == replacement_plans(
                    mem, specs, today, SETTINGS, limit
                )


def test_migration_backfill_matches_the_maintained_index(engine: Engine) -> None:
    upgrade(engine)
    random_clinic.build(SqlUnitOfWork(engine), seed=3, patients=120)
    maintained = _schedule(engine)
    assert len(maintained) > 80 and any(r[2] is None for r in maintained)
    downgrade(engine, "0002")  # drops the index table; the clinic's rows stay
    upgrade(engine)  # 0003 refills it with its SQL
    assert _schedule(engine) == maintained


def test_a_refill_moves_the_patient_on_the_calendar(uow: SqlUnitOfWork) -> None:
    random_clinic.build(uow, seed=5, patients=40)
    today = random_clinic.TODAY
    with uow.reader() as repo:
        page = calendar_page(repo, today, SOON, (RefillStatus.UNKNOWN,), limit=None)
    patient = page.entries[0]
    with uow.reader() as repo:
        (device,) = [d for d in repo.devices_for(patient.patient_id) if d.in_place]
    record = random_clinic._refill(
        patient.patient_id, device.id, random_clinic.START, random.Random(1), "new-refill"
    )
    with uow.transaction("nina", random_clinic.START, "refill") as repo:
        repo.add_refill(record)
    with uow.reader() as repo:
        after = calendar_page(repo, today, SOON, limit=None)
    (moved,) = [e for e in after.entries if e.patient_id == patient.patient_id]
    assert after.counts[RefillStatus.UNKNOWN] == page.counts[RefillStatus.UNKNOWN] - (
        moved.due is not None
    )
    assert moved.last_refill_at == random_clinic.START
    assert isinstance(today, date)
