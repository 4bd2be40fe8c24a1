"""The whole-clinic FHIR export as Bulk Data NDJSON (``thecal export fhir --ndjson DIR``): the
files hold exactly the resources of the per-patient Bundles, every line validates with the R4B
models of fhir.resources, the manifest counts them, each plan is resolved once, and a refused
folder or an error midway leaves nothing at DIR."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from typer.testing import CliRunner

from tests.demo_records import fill_demo
from thecal.adapters.data_files import load_catalog, load_library
from thecal.cli.export_ndjson import export_ndjson
from thecal.cli.main import app
from thecal.clinic.errors import NotFoundError
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.interop import fhir_bulk, fhir_therapy
from thecal.interop.fhir_bulk import bulk_resources, clinic_patient_ids
from thecal.interop.fhir_export import export_patient, stamp_in
from thecal.store.database import make_engine
from thecal.store.migrate import upgrade
from thecal.store.uow import SqlUnitOfWork

Resource = dict[str, Any]


@pytest.fixture(scope="module")
def sqlite_clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SqlUnitOfWork]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ndjson') / 'clinic.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    fill_demo(uow)
    yield url, uow
    engine.dispose()


def bundles(uow: Any) -> list[Resource]:
    """Every resource of every patient's Bundle, patient after patient by MRN."""
    library, catalog = load_library(), load_catalog()
    return [e["resource"] for pid in clinic_patient_ids(uow)
            for e in export_patient(uow, patient_id=pid, library=library, catalog=catalog,
                                    zone=UTC)["entry"]]  # fmt: skip


def lines(folder: Path) -> dict[str, list[Resource]]:
    return {f.stem: [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines()]
            for f in sorted(folder.glob("*.ndjson"))}  # fmt: skip


def by_type(items: list[Resource]) -> dict[str, list[Resource]]:
    out: dict[str, list[Resource]] = {}
    for r in items:
        out.setdefault(r["resourceType"], []).append(r)
    return out


def test_cli_writes_the_bundles_resources_as_valid_ndjson(
    sqlite_clinic: tuple[str, SqlUnitOfWork], tmp_path: Path
) -> None:
    url, uow = sqlite_clinic
    out = tmp_path / "export"
    r = CliRunner().invoke(app, ["export", "fhir", "--ndjson", str(out), "--zone", "UTC",
                                 "--database-url", url])  # fmt: skip
    assert r.exit_code == 0, r.output
    written = lines(out)
    expected = by_type(bundles(uow))
    assert written == expected  # the same dicts, per type in patient (MRN) order
    kinds = {"Patient", "Device", "DeviceUseStatement", "Procedure", "MedicationRequest",
             "MedicationAdministration", "Observation", "DiagnosticReport",
             "Condition"}  # fmt: skip
    assert kinds <= set(written)
    for kind, items in written.items():
        model = get_fhir_model_class(kind)
        for item in items:
            model.model_validate(item)
    # One resource a line, compact JSON (no spaces after separators).
    text = (out / "Patient.ndjson").read_text(encoding="utf-8")
    assert text.endswith("}\n") and '", "' not in text and len(text.splitlines()) == 6
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["requiresAccessToken"] is False and manifest["error"] == []
    assert manifest["transactionTime"].endswith("Z")
    assert manifest["output"] == [{"type": k, "url": f"{k}.ndjson", "count": len(v)}
                                  for k, v in sorted(written.items())]  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f"{k}.ndjson" for k in written),
                                                            "manifest.json"])  # fmt: skip
    size = sum(f.stat().st_size for f in out.glob("*.ndjson"))
    total = sum(len(v) for v in written.values())
    assert f"6 patients: {total:,} FHIR resources" in r.output and f"{size:,} bytes" in r.output
    assert not list(tmp_path.glob(".export.*"))  # no staging folder left beside


def test_memory_bulk_equals_the_bundles_at_any_chunk() -> None:
    uow = MemoryUnitOfWork()
    fill_demo(uow)
    library, catalog = load_library(), load_catalog()
    ids = clinic_patient_ids(uow)
    expected = bundles(uow)
    for chunk in (1, 4, 6, 500):
        done: list[int] = []
        got = list(bulk_resources(uow, ids, library, catalog, stamp_in(UTC), chunk=chunk,
                                  done=done.append))  # fmt: skip
        assert got == expected, chunk
        assert sum(done) == 6 and max(done) == min(chunk, 6)
    with pytest.raises(ValueError, match="chunk"):
        next(bulk_resources(uow, ids, library, catalog, stamp_in(UTC), chunk=0))
    with pytest.raises(NotFoundError, match="nobody"):
        list(bulk_resources(uow, ["nobody"], library, catalog, stamp_in(UTC)))


def test_each_distinct_plan_is_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    uow = MemoryUnitOfWork()
    fill_demo(uow)
    seen: list[str] = []
    real = fhir_therapy._therapy

    def counting(plan_json: str, *args: Any) -> fhir_therapy.Therapy:
        seen.append(plan_json)
        return real(plan_json, *args)

    monkeypatch.setattr(fhir_therapy, "_therapy", counting)
    ids = clinic_patient_ids(uow) * 2  # every plan met twice (the demo's plans differ)
    out = list(bulk_resources(uow, ids, load_library(), load_catalog(), stamp_in(UTC), chunk=2))
    with uow.reader() as repo:
        plans = [rx.plan_json for i in ids for rx in repo.prescriptions_for(i)]
    assert len(seen) == len(set(seen)) == len(set(plans)) == len(plans) // 2
    assert sum(1 for r in out if r["resourceType"] == "MedicationRequest") == len(plans)


def test_a_folder_that_is_not_new_or_empty_is_refused(
    sqlite_clinic: tuple[str, SqlUnitOfWork], tmp_path: Path
) -> None:
    url, _ = sqlite_clinic
    out = tmp_path / "export"
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    run = CliRunner().invoke
    r = run(app, ["export", "fhir", "--ndjson", str(out), "--database-url", url])
    assert r.exit_code == 2 and "--ndjson" in r.output and "not an empty folder" in r.output
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    r = run(app, ["export", "fhir", "--ndjson", str(tmp_path / "no" / "x"), "--database-url",
                  url])  # fmt: skip
    assert r.exit_code == 2 and "--ndjson" in r.output
    r = run(app, ["export", "fhir", "SEED-000", "--ndjson", str(tmp_path / "y"),
                  "--database-url", url])  # fmt: skip
    assert r.exit_code == 2 and "no PATIENT" in r.output
    r = run(app, ["export", "fhir", "--database-url", url])
    assert r.exit_code == 2 and "PATIENT" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
    # An empty folder is taken: the export replaces it.
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run(app, ["export", "fhir", "--ndjson", str(empty), "--database-url", url])
    assert r.exit_code == 0, r.output
    assert (empty / "manifest.json").is_file()


@pytest.mark.parametrize("existing", [False, True])
def test_an_error_midway_leaves_nothing_at_the_folder(
    sqlite_clinic: tuple[str, SqlUnitOfWork], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    existing: bool,
) -> None:  # fmt: skip
    _, uow = sqlite_clinic
    real = fhir_bulk.resources
    calls = []

    def failing(*args: Any) -> Iterator[Resource]:
        calls.append(1)
        if len(calls) == 4:  # the fourth patient, after three were written
            raise OSError("disk full")
        yield from real(*args)

    monkeypatch.setattr(fhir_bulk, "resources", failing)
    out = tmp_path / "export"
    if existing:
        out.mkdir()
    with pytest.raises(OSError, match="disk full"):
        export_ndjson(uow, load_library(), load_catalog(), out, zone=UTC,
                      at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC), chunk=2)  # fmt: skip
    assert len(calls) == 4
    # Nothing at DIR (or the empty folder that was there), no staging folder beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == (["export"] if existing else [])
    assert not existing or not any(out.iterdir())
