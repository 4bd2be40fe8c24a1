"""Concurrent writes on SQLite and PostgreSQL, without timing assertions: refills for 50
different patients at once never refuse each other; refills for one patient at once on the
same version: exactly one is stored, the others are refused as concurrent edits."""

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from tests.unit.clinic.conftest import NURSE, FakeClock, setup_patient
from thecal.clinic.errors import ConcurrentEditError
from thecal.clinic.workflows import RefillInput, record_refill
from thecal.store.database import make_engine
from thecal.store.migrate import upgrade
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_

THREADS = 50


class TickingClock:
    """Each call is one second later than the last, from whichever thread: the threads' "now"s
    interleave in an order unrelated to the order their transactions commit."""

    def __init__(self, start: datetime) -> None:
        self._next = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            now, self._next = self._next, self._next + timedelta(seconds=1)
            return now


def _wide_engine(engine: Engine) -> Engine:
    """The test database with a pool for every thread (the default pool holds 15)."""
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, pool_size=THREADS, max_overflow=0)


def _run(jobs: list[Callable[[], None]]) -> Counter[str]:
    """Run ``jobs`` at once (a barrier releases them together); outcome name → count."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(len(jobs))

    def worker(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
            result = "stored"
        except Exception as exc:  # every outcome is counted and asserted below
            result = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def _entry() -> RefillInput:
    # 2024-01-02 09:00 → 2024-03-02 09:00 is 60 d at 0.3 mL/d = 18 mL used of 20 mL: 2 mL
    # expected; 1.6 mL withdrawn is inside the accuracy band (as in test_store).
    return RefillInput(Q_(1.6, "mL"), Q_(20.0, "mL"), "LOT-C", Q_(19.8, "mL"))


def test_refills_for_different_patients_never_refuse_each_other(
    engine: Engine, library, catalog
) -> None:
    upgrade(engine)
    setup = SqlUnitOfWork(engine)
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    ids = [setup_patient(setup, clock, library, catalog, f"C-{i:03d}")[0].id
           for i in range(THREADS)]  # fmt: skip
    with setup.reader() as repo:
        versions = {pid: repo.get_patient(pid).version for pid in ids}
    wide = _wide_engine(engine)
    uow = SqlUnitOfWork(wide)
    now = TickingClock(datetime(2024, 3, 2, 9, 0))

    def job(pid: str) -> Callable[[], None]:
        return lambda: record_refill(
            uow,
            now,
            library,
            catalog,
            actor=NURSE,
            patient_id=pid,
            entry=_entry(),
            patient_version=versions[pid],
        )

    try:
        outcomes = _run([job(pid) for pid in ids])
        assert outcomes == Counter({"stored": THREADS})
        with uow.reader() as repo:
            for pid in ids:
                (refill,) = repo.refills_for(pid)
                assert refill.drug_lot == "LOT-C"
                assert repo.get_patient(pid).version == versions[pid] + 1  # one write each
        assert uow.verify_audit().ok
    finally:
        wide.dispose()


def test_refills_for_one_patient_at_once_store_exactly_one(
    engine: Engine, library, catalog
) -> None:
    upgrade(engine)
    setup = SqlUnitOfWork(engine)
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    patient, _ = setup_patient(setup, clock, library, catalog)
    with setup.reader() as repo:
        version = repo.get_patient(patient.id).version
    wide = _wide_engine(engine)
    uow = SqlUnitOfWork(wide)
    now = FakeClock(datetime(2024, 3, 2, 9, 0))
    racers = 10

    def job() -> None:
        record_refill(
            uow,
            now,
            library,
            catalog,
            actor=NURSE,
            patient_id=patient.id,
            entry=_entry(),
            patient_version=version,
        )

    try:
        outcomes = _run([job] * racers)
        refused = str(ConcurrentEditError("patient", patient.id, version))
        assert outcomes == Counter({"stored": 1, f"ConcurrentEditError: {refused}": racers - 1})
        with uow.reader() as repo:
            assert len(repo.refills_for(patient.id)) == 1
            assert repo.get_patient(patient.id).version == version + 1
        assert uow.verify_audit().ok
    finally:
        wide.dispose()
