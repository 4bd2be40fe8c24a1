"""Crash test: a process recording refills through the clinic workflow on an SQLite file is
killed with SIGKILL in the middle of a refill write, several times. After each crash the
database is reopened and must be consistent: SQLite's integrity check passes, every refill has
its audit row and every audited refill exists (no half-written workflow), every refill the
writer saw committed survives, and the audit hash chain verifies (`thecal audit verify`)."""

import queue
import random
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from tests.unit.clinic.conftest import FakeClock, setup_patient
from thecal.clinic.model import Role, User
from thecal.clinic.workflows import RefillInput, preview_refill, record_refill
from thecal.store.database import make_engine
from thecal.store.migrate import upgrade
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_

# The writer: refills one hour apart (a fake clock: each must follow the last fill), withdrawn
# exactly what is expected, a reason for any soft finding. It prints "begin LOT" before a
# refill, "commit LOT" when the transaction's rows are all written and COMMIT is about to be
# sent, and "done LOT" after the commit returned. With "pause" it sleeps at "commit" so the
# parent's SIGKILL lands deterministically inside the open transaction.
WRITER = r"""
import sys, time
from datetime import timedelta
from sqlalchemy import event
from thecal.adapters.data_files import load_catalog, load_library
from thecal.clinic.model import Role, User
from thecal.clinic.workflows import RefillInput, preview_refill, record_refill
from thecal.store.database import make_engine
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_

url, pid, prefix, mode = sys.argv[1:5]
engine = make_engine(url)
uow = SqlUnitOfWork(engine)
library, catalog = load_library(), load_catalog()
nurse = User("nina", "Nina Nurse", Role.NURSE)
current = [""]

@event.listens_for(engine, "commit")
def _about_to_commit(conn):
    if current[0]:
        print("commit", current[0], flush=True)
        if mode == "pause":
            time.sleep(30)

with uow.reader() as repo:
    refills = repo.refills_for(pid)
    at = refills[-1].performed_at if refills else repo.prescriptions_for(pid)[-1].plan().fill.at
n = 0
while True:
    n += 1
    at += timedelta(hours=1)
    lot = f"{prefix}-{n}"
    with uow.reader() as repo:
        probe = preview_refill(repo, library, catalog, patient_id=pid,
                               entry=RefillInput(Q_(0, "mL"), Q_(20, "mL"), lot), at=at,
                               by=nurse.username)
    entry = RefillInput(probe.record.expected_remaining, Q_(20, "mL"), lot)
    with uow.reader() as repo:
        soft = preview_refill(repo, library, catalog, patient_id=pid, entry=entry, at=at,
                              by=nurse.username).needs_reason
    entry = RefillInput(entry.withdrawn, entry.filled, lot,
                        overrides={f.code.value: "crash test" for f in soft})
    print("begin", lot, flush=True)
    current[0] = lot
    record_refill(uow, lambda: at, library, catalog, actor=nurse, patient_id=pid, entry=entry)
    current[0] = ""
    print("done", lot, flush=True)
"""

NURSE = User("nina", "Nina Nurse", Role.NURSE)
# A hang guard, not a speed target: a writer silent this long is stuck (a busy CI machine
# takes seconds, not minutes). Timing belongs in benchmarks/, never in this test.
LINE_TIMEOUT_S = 300.0


def _start_writer(url: str, pid: str, prefix: str, mode: str) -> tuple[
    subprocess.Popen[str], "queue.Queue[str]"
]:  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", WRITER, url, pid, prefix, mode],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            # Only whole lines: print("done", lot) writes its pieces one by one, so a kill
            # can leave "done" without its lot (or without the newline) as the last line.
            if line.endswith("\n"):
                lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def _next(proc: subprocess.Popen[str], lines: "queue.Queue[str]") -> tuple[str, str]:
    try:
        line = lines.get(timeout=LINE_TIMEOUT_S)
    except queue.Empty:
        proc.kill()
        raise AssertionError(f"writer silent for {LINE_TIMEOUT_S} s") from None
    kind, _, lot = line.partition(" ")
    assert kind in ("begin", "commit", "done"), f"writer said: {line}"  # e.g. a traceback
    return kind, lot


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()  # SIGKILL: no cleanup, no rollback by the process
    proc.wait(timeout=10)


def _consistent(path: Path, uow: SqlUnitOfWork) -> set[str]:
    """Assert the reopened database is consistent; return the lots of the stored refills."""
    con = sqlite3.connect(path, timeout=10)  # the first open after the crash recovers the WAL
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        refills = dict(con.execute("SELECT id, drug_lot FROM refills").fetchall())
        audited = {
            r[0] for r in con.execute(
                "SELECT entity_id FROM audit_log WHERE entity = 'refill' AND action = 'insert'"
            )
        }  # fmt: skip
    finally:
        con.close()
    assert set(refills) == audited  # no refill without its audit row, no audit row without it
    report = uow.verify_audit()
    assert report.ok, report.problems
    return set(refills.values())


def test_sigkill_during_refill_writes_leaves_a_consistent_database(
    tmp_path: Path, library, catalog
) -> None:
    path = tmp_path / "clinic.sqlite3"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    patient, _ = setup_patient(uow, clock, library, catalog)
    rng = random.Random(20261123)  # fixed: the kill points are reproducible
    acknowledged: set[str] = set()
    # Rounds alternate: "pause" kills with the refill and audit rows written but not committed;
    # "run" kills a free-running writer at a random point of a refill (possibly mid-commit).
    for round_no, mode in enumerate(["pause", "run", "pause", "run", "run"]):
        prefix = f"R{round_no}"
        proc, lines = _start_writer(url, patient.id, prefix, mode)
        try:
            in_flight = ""
            if mode == "pause":
                while (marker := _next(proc, lines))[0] != "commit":
                    if marker[0] == "done":
                        acknowledged.add(marker[1])
                in_flight = marker[1]
            else:
                target = rng.randint(2, 5)  # let a few commit first
                done = 0
                while done < target:
                    kind, lot = _next(proc, lines)
                    if kind == "done":
                        acknowledged.add(lot)
                        done += 1
                while _next(proc, lines)[0] != "begin":
                    pass
                time.sleep(rng.uniform(0.0, 0.05))  # somewhere inside this refill's write
            _kill(proc)
            while not lines.empty():  # markers printed before the kill
                kind, lot = _next(proc, lines)
                if kind == "done":
                    acknowledged.add(lot)
        finally:
            if proc.poll() is None:
                _kill(proc)
        stored = _consistent(path, uow)
        assert acknowledged <= stored, acknowledged - stored  # committed refills survive
        if in_flight:
            assert in_flight not in stored  # killed before COMMIT: nothing of it remains
    assert len(acknowledged) >= 6

    # After the crashes the clinic keeps working: one more refill, then the CLI verifies.
    with uow.reader() as repo:
        clock.now = repo.refills_for(patient.id)[-1].performed_at + timedelta(hours=1)
        expected = preview_refill(
            repo,
            library,
            catalog,
            patient_id=patient.id,
            entry=RefillInput(Q_(0, "mL"), Q_(20, "mL"), "x"),
            at=clock(),
            by=NURSE.username,
        ).record.expected_remaining
    after = record_refill(
        uow, clock, library, catalog, actor=NURSE, patient_id=patient.id,
        entry=RefillInput(expected, Q_(20, "mL"), "AFTER-CRASH"),
    )  # fmt: skip
    assert after.record.refill_by is not None
    assert "AFTER-CRASH" in _consistent(path, uow)
    engine.dispose()
    verify = subprocess.run(
        [sys.executable, "-m", "thecal.cli.main", "audit", "verify", "--database-url", url],
        capture_output=True, text=True, timeout=LINE_TIMEOUT_S,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "audit log intact" in verify.stdout
