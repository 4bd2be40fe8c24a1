"""The FHIR export's faces: ``thecal export fhir`` on an SQLite demo clinic and
``GET /api/v1/fhir/Patient/{id}/$everything`` (a viewer may read; unknown → 404; no login →
401)."""

import json
import shutil
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
