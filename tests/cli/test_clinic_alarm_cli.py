"""``thecal clinic alarm list|ack|resolve`` on an SQLite file: the alarm an interrogation read
from the implant listed, acknowledged and resolved as the user named by ``--as``; a viewer, an
unknown user, an unknown alarm and a blank reason exit 2."""

import json
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from tests.cli.test_clinic_cli import app
from tests.unit.clinic.conftest import (
    DOCTOR,
    NURSE,
    VIEWER,
    FakeClock,
    morphine_plan,
    setup_patient,
)
from tests.unit.clinic.test_reconciliation import READ_AT, SETTINGS, program_json, status
from thecal.clinic.interrogation import record_interrogation
from thecal.clinic.reconcile_interrogation import Reconcile
from thecal.store.database import make_engine
from thecal.store.uow import SqlUnitOfWork

LOW = {"name": "LOW_RESERVOIR", "critical": False, "raised_at": "2024-01-28T07:00:00",
       "acknowledged": False, "resolved": False}  # fmt: skip


def test_list_ack_resolve(tmp_path: Path, library, catalog) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    env = {"THECAL_DATABASE_URL": url}
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    engine = make_engine(url)
    uow = SqlUnitOfWork(engine)
    with uow.transaction("admin", datetime(2024, 1, 1), "users") as repo:
        for u in (NURSE, DOCTOR, VIEWER):
            repo.add_user(u)
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    patient, _ = setup_patient(uow, clock, library, catalog)
    clock.now = READ_AT
    snap = status(program_json(morphine_plan(), library, catalog), 12.0, READ_AT, [LOW])
    record_interrogation(uow, clock, NURSE, patient.id, "SN1", snap, [],
                         Reconcile(library, catalog, SETTINGS))  # fmt: skip
    engine.dispose()

    out = runner.invoke(app, ["clinic", "alarm", "list", "--json"], env=env)
    assert out.exit_code == 0, out.output
    (alarm,) = json.loads(out.output)["alarms"]
    assert (alarm["code"], alarm["level"]) == ("LOW_RESERVOIR", "non-critical")
    aid = alarm["id"]
    text = runner.invoke(app, ["clinic", "alarm", "list"], env=env).output
    assert "LOW_RESERVOIR" in text and "open" in text
    for args in (
        ["ack", aid, "--as", "vera"],
        ["ack", aid, "--as", "nobody"],
        ["ack", "nope", "--as", "nina"],
        ["resolve", aid, "--as", "nina", "--reason", " "],
    ):
        assert runner.invoke(app, ["clinic", "alarm", *args], env=env).exit_code == 2, args
    done = runner.invoke(app, ["clinic", "alarm", "ack", aid, "--as", "nina"], env=env)
    assert done.exit_code == 0 and "acknowledged by nina" in done.output
    done = runner.invoke(app, ["clinic", "alarm", "resolve", aid, "--as", "paul", "--reason",
                               "refilled", "--json"], env=env)  # fmt: skip
    assert done.exit_code == 0, done.output
    got = json.loads(done.output)
    assert (got["acknowledged_by"], got["resolved_by"], got["resolution"]) == (
        "nina", "paul", "refilled")  # fmt: skip
    assert json.loads(runner.invoke(app, ["clinic", "alarm", "list", "--json"],
                                    env=env).output)["alarms"] == []  # fmt: skip
    history = runner.invoke(app, ["clinic", "alarm", "list", "--patient", patient.id, "--json"],
                            env=env)  # fmt: skip
    assert len(json.loads(history.output)["alarms"]) == 1
    assert runner.invoke(app, ["audit", "verify"], env=env).exit_code == 0
