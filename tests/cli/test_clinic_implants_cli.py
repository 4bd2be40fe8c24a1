"""``thecal clinic implant link`` and ``list`` on an SQLite file: a physician registers a
link from a key file (the key never printed); a nurse and a wrong key are refused (exit 2)."""

import json
from datetime import datetime
from pathlib import Path

import typer
from typer.testing import CliRunner

from tests.unit.clinic.conftest import DOCTOR, NURSE, FakeClock, setup_patient
from thecal.cli import clinic
from thecal.link.keystore import export_role_credential, provision_implant
from thecal.link.roles import Role
from thecal.store.database import make_engine
from thecal.store.migrate import upgrade
from thecal.store.uow import SqlUnitOfWork

app = typer.Typer()
app.add_typer(clinic.clinic_app, name="clinic")


def test_link_and_list(tmp_path: Path, library, catalog) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    clock = FakeClock(datetime(2024, 1, 2, 9, 0))
    setup_patient(uow, clock, library, catalog)  # pump serial SN1
    with uow.transaction("admin", clock(), "users") as repo:
        repo.add_user(DOCTOR)
        repo.add_user(NURSE)
    secret = provision_implant(tmp_path / "implant.key", "SN1")
    key = tmp_path / "clinician.key"
    export_role_credential(secret, Role.CLINICIAN, key)
    other = tmp_path / "other.key"
    export_role_credential(provision_implant(tmp_path / "o.key", "SN2"), Role.CLINICIAN, other)
    runner = CliRunner()
    env = {"THECAL_DATABASE_URL": url}
    base = ["clinic", "implant", "link", "SN1", "--address", "127.0.0.1:7001", "--reason", "new"]

    r = runner.invoke(app, [*base, "--key-file", str(key), "--as", "nina"], env=env)
    assert r.exit_code == 2 and "may not register implant links" in r.output
    r = runner.invoke(app, [*base, "--key-file", str(other), "--as", "paul"], env=env)
    assert r.exit_code == 2 and "SN2" in r.output
    r = runner.invoke(app, [*base, "--key-file", str(key), "--as", "paul"], env=env)
    assert r.exit_code == 0, r.output
    assert "127.0.0.1:7001" in r.output and "sha256:" in r.output
    r = runner.invoke(app, ["clinic", "implant", "list", "--json"], env=env)
    (row,) = json.loads(r.output)["links"]
    assert row["serial"] == "SN1" and row["by"] == "paul"
    assert secret.key.hex() not in r.output and json.loads(key.read_text())["key"] not in r.output
    engine.dispose()
