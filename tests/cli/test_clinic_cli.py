"""``thecal db upgrade``, ``thecal audit verify``, ``thecal clinic calendar`` on an SQLite file.

The commands are mounted on a local app here until the lead registers them in cli/main.py."""

import json
from datetime import datetime
from pathlib import Path

import typer
from sqlalchemy import text
from typer.testing import CliRunner

from tests.unit.clinic.conftest import NURSE, FakeClock, setup_patient
from thecal.cli import clinic
from thecal.clinic.workflows import RefillInput, record_refill
from thecal.store.database import make_engine
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_

app = typer.Typer()
app.add_typer(clinic.db_app, name="db")
app.add_typer(clinic.audit_app, name="audit")
app.add_typer(clinic.clinic_app, name="clinic")


def test_upgrade_calendar_and_audit(tmp_path: Path, library, catalog) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'clinic.sqlite3'}"
    env = {"THECAL_DATABASE_URL": url}
    runner = CliRunner()
    result = runner.invoke(app, ["db", "upgrade"], env=env)
    assert result.exit_code == 0 and "revision 0014" in result.output
    engine = make_engine(url)
    uow = SqlUnitOfWork(engine)
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = datetime(2024, 3, 2, 9, 0)
    record_refill(
        uow,
        clock,
        library,
        catalog,
        actor=NURSE,
        patient_id=patient.id,
        entry=RefillInput(Q_(1.6, "mL"), Q_(20.0, "mL"), "LOT-1", Q_(19.8, "mL")),
    )

    result = runner.invoke(app, ["clinic", "calendar", "--today", "2024-05-02", "--json"], env=env)
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)["entries"]
    # Refill-by 2024-05-01 09:00 (60 d of 0.3 mL/d from 20 mL down to the 2 mL alarm): overdue.
    assert entry["status"] == "overdue" and entry["due"] == "2024-05-01T09:00:00"
    assert entry["days_left"] == -1
    result = runner.invoke(app, ["clinic", "calendar", "--today", "2024-04-28"], env=env)
    assert result.exit_code == 0 and "due-soon" in result.output
    assert runner.invoke(app, ["clinic", "calendar", "--today", "May 1"], env=env).exit_code == 2

    result = runner.invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 0 and "intact" in result.output
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3"))
    engine.dispose()
    result = runner.invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 1 and "TAMPERED" in result.output and "row 3" in result.output


def test_calendar_counts_and_pages(tmp_path: Path, library, catalog) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    env = {"THECAL_DATABASE_URL": url}
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    uow = SqlUnitOfWork(make_engine(url))
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    for mrn in ("P-001", "P-002", "P-003"):  # no refill yet: no due date (unknown)
        setup_patient(uow, clock, library, catalog, mrn)
    args = ["clinic", "calendar", "--today", "2024-05-02", "--json", "--limit", "1"]
    out = json.loads(runner.invoke(app, [*args, "--offset", "1"], env=env).output)
    assert out["counts"]["unknown"] == 3 and out["total"] == 3 and len(out["entries"]) == 1
    out = json.loads(runner.invoke(app, [*args, "--status", "overdue"], env=env).output)
    assert out["total"] == 0 and out["entries"] == []
    result = runner.invoke(app, [*args[:-1], "-1"], env=env)
    assert result.exit_code == 2
