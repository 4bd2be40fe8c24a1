"""The FHIR export's faces: ``thecal export fhir`` on an SQLite demo clinic and
``GET /api/v1/fhir/Patient/{id}/$everything`` (a viewer may read; unknown → 404; no login →
401)."""

import json
import shutil
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from typer.testing import CliRunner

from tests.web.conftest import client, ctx, login, template_db
from thecal.api.context import AppContext
from thecal.cli.main import app

__all__ = ["client", "ctx", "template_db"]


def test_cli_writes_a_valid_bundle(template_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "clinic.sqlite3"
    shutil.copy(template_db, db)
    out = tmp_path / "seed-000.json"
    url = f"sqlite:///{db}"
    args = ["export", "fhir", "SEED-000", "--out", str(out), "--zone", "Europe/Berlin"]
    result = CliRunner().invoke(app, [*args, "--database-url", url])
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text())
    Bundle.model_validate(bundle)
    assert f"{len(bundle['entry'])} FHIR resources written" in result.output
    patient = bundle["entry"][0]["resource"]
    assert patient["resourceType"] == "Patient"
    assert patient["identifier"][0]["value"] == "SEED-000"
    # Europe/Berlin: a clinic time carries +01:00 in winter, +02:00 in summer.
    stamps = [e["resource"]["effectiveDateTime"] for e in bundle["entry"]
              if "effectiveDateTime" in e["resource"]]  # fmt: skip
    assert stamps and all(s.endswith(("+01:00", "+02:00")) for s in stamps)


def test_cli_refuses_unknown_patient_zone_and_folder(template_db: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{template_db}"
    out = tmp_path / "x.json"
    run = CliRunner().invoke
    r = run(app, ["export", "fhir", "NOBODY", "--out", str(out), "--database-url", url])
    assert r.exit_code == 2 and "patient" in r.output
    r = run(app, ["export", "fhir", "SEED-000", "--out", str(out), "--zone", "Mars/Base",
                  "--database-url", url])  # fmt: skip
    assert r.exit_code == 2 and "--zone" in r.output
    r = run(app, ["export", "fhir", "SEED-000", "--out", str(tmp_path / "no" / "x.json"),
                  "--database-url", url])  # fmt: skip
    assert r.exit_code == 2 and "--out" in r.output
    assert not out.exists()


def test_api_everything_for_a_viewer(client: TestClient, ctx: AppContext) -> None:
    with ctx.uow.reader() as repo:
        pid = next(p.id for p in repo.list_patients() if p.mrn == "SEED-001")
    path = f"/api/v1/fhir/Patient/{pid}/$everything"
    assert client.get(path).status_code == 401
    login(client, "viewer")
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    Bundle.model_validate(bundle)
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "Device", "DeviceUseStatement", "Observation"} <= kinds
    missing = client.get("/api/v1/fhir/Patient/no-such-patient/$everything")
    assert missing.status_code == 404


def test_cli_import_round_trip_into_a_fresh_clinic(template_db: Path, tmp_path: Path) -> None:
    from tests.interop.test_fhir_import import imported_kinds
    from thecal.clinic.model import Role, User
    from thecal.store.database import make_engine
    from thecal.store.migrate import upgrade
    from thecal.store.uow import SqlUnitOfWork

    source = f"sqlite:///{template_db}"
    target = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    engine = make_engine(target)
    upgrade(engine)
    with SqlUnitOfWork(engine).transaction("setup", datetime(2026, 1, 1), "users") as repo:
        repo.add_user(User("paul", "Dr Paul (synthetic)", Role.PHYSICIAN))
        repo.add_user(User("nina", "Nina Nurse (synthetic)", Role.NURSE))
    engine.dispose()
    run = CliRunner().invoke
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    zone = ["--zone", "Europe/Berlin"]
    r = run(app, ["export", "fhir", "SEED-000", "--out", str(first), *zone,
                  "--database-url", source])  # fmt: skip
    assert r.exit_code == 0, r.output
    base = ["import", "fhir", str(first), "--database-url", target, *zone]
    # The whole Bundle, history included, is test_fhir_round_trip's; here without history.
    r = run(app, [*base, "--user", "nina", "--without-history"])
    assert r.exit_code == 2  # a nurse may not import
    r = run(app, [*base, "--user", "paul", "--without-history", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["patient"]["mrn"] == "SEED-000" and out["taken"]["Patient"] == 1
    assert out["left_out"]["Observation"] > 0
    r = run(app, ["export", "fhir", "SEED-000", "--out", str(second), *zone,
                  "--database-url", target])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert imported_kinds(json.loads(second.read_text())) == imported_kinds(
        json.loads(first.read_text())
    )
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = run(app, ["import", "fhir", str(bad), "--user", "paul", "--database-url", target])
    assert r.exit_code == 2 and "FILE" in r.output
