"""FHIR export benchmark: the 100,000-patient clinic of ``clinic_load.py`` written as FHIR R4
NDJSON (one resource per line, one file per resource type, as FHIR Bulk Data writes it).

Run: .venv/bin/python benchmarks/fhir_export.py [--patients 100000] [--out DIR] [--markdown]
     [--baseline bulk|per-patient] [--reads-only] [--keep]

1. Uses ``clinic_load.py``'s database (SQLite, built once and cached under
   ``$TMPDIR/thecal-bench``): each patient an implanted pump, one prescription (the packaged
   ``refill-morphine`` plan) and one refill. Random numbers to load the export, not a clinic.
2. Baseline, same run: reads every patient's record and builds nothing. ``bulk`` (default):
   the repository's bulk read (``patient_records``, 500 patients per read transaction, as the
   export reads); ``per-patient``: :func:`thecal.clinic.patient_record.read_patient`, one read
   transaction per patient (what the export did before the bulk read).
3. Export: the product path, :func:`thecal.cli.export_ndjson.export_ndjson` (what
   ``thecal export fhir --ndjson DIR`` runs): bulk reads, every resource built (plans resolved
   once per distinct plan), written to ``DIR/<Type>.ndjson`` with ``manifest.json``.
4. Reports patients/s and resources/s of the export, the bytes written, and the export's time
   as a ratio to the baseline's. ``--reads-only``: no export; the bulk read's time as a ratio
   to the per-patient reads' instead. Progress with Rich. Nothing here is a test: results go
   to benchmarks/README.md.
"""

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from clinic_load import cached_database
from thecal.adapters.data_files import load_catalog, load_library
from thecal.cli.export_ndjson import export_ndjson
from thecal.clinic.patient_record import read_patient
from thecal.interop.fhir_bulk import CHUNK, clinic_patient_ids
from thecal.store.database import make_engine
from thecal.store.migrate import upgrade
from thecal.store.uow import SqlUnitOfWork


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True),
                    transient=True)  # fmt: skip


def per_patient_reads(uow: SqlUnitOfWork, ids: list[str]) -> float:
    """Seconds to read every record one patient per read transaction."""
    with _progress() as bar:
        task = bar.add_task("baseline: read_patient, one by one", total=len(ids))
        t0 = time.perf_counter()
        for pid in ids:
            with uow.reader() as repo:
                read_patient(repo, pid)
            bar.advance(task)
        return time.perf_counter() - t0


def bulk_reads(uow: SqlUnitOfWork, ids: list[str]) -> float:
    """Seconds to read every record with the bulk read, ``CHUNK`` patients a transaction."""
    with _progress() as bar:
        task = bar.add_task(f"baseline: patient_records, {CHUNK} a read", total=len(ids))
        t0 = time.perf_counter()
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            with uow.reader() as repo:
                repo.patient_records(part)
            bar.advance(task, len(part))
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 23))
    ap.add_argument("--out", type=Path, default=None,
                    help="NDJSON folder, new or empty (default: one in a temp dir)")  # fmt: skip
    ap.add_argument("--baseline", choices=("bulk", "per-patient"), default="bulk")
    ap.add_argument("--reads-only", action="store_true",
                    help="compare the bulk read with the per-patient reads; no export")  # fmt: skip
    ap.add_argument("--keep", action="store_true", help="keep the NDJSON written")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    db = cached_database(args.patients, args.seed, args.today)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    library, catalog = load_library(), load_catalog()
    ids = clinic_patient_ids(uow)
    n = len(ids)
    rows: list[tuple[str, str]] = [("patients", f"{n:,}")]

    if args.reads_only:
        one_by_one = per_patient_reads(uow, ids)
        bulk = bulk_reads(uow, ids)
        rows += [
            ("read_patient, one by one", f"{one_by_one:.1f} s ({n / one_by_one:,.0f} patients/s)"),
            (f"patient_records, {CHUNK} a read", f"{bulk:.1f} s ({n / bulk:,.0f} patients/s)"),
            ("bulk / one by one", f"{bulk / one_by_one:.3f}"),
        ]  # fmt: skip
        engine.dispose()
        _print(rows, args.markdown)
        return

    reads: Callable[[SqlUnitOfWork, list[str]], float] = (
        bulk_reads if args.baseline == "bulk" else per_patient_reads
    )
    baseline = reads(uow, ids)
    temp = None if args.out else Path(tempfile.mkdtemp(prefix="thecal-fhir-"))
    out: Path = args.out or Path(temp or ".") / "ndjson"
    try:
        with _progress() as bar:

            def progress(total: int) -> Callable[[int], None]:
                task = bar.add_task("export: FHIR NDJSON", total=total)
                return lambda k: bar.advance(task, k)

            t0 = time.perf_counter()
            written = export_ndjson(uow, library, catalog, out, zone=UTC,
                                    at=datetime.now(UTC), progress=progress)  # fmt: skip
            export = time.perf_counter() - t0
        count = sum(written.counts.values())
        name = "bulk read (patient_records)" if args.baseline == "bulk" else "read_patient"
        rows += [
            ("resources written", f"{count:,} in {len(written.counts)} files "
             f"({', '.join(sorted(written.counts))}) + manifest.json"),
            ("NDJSON written", f"{written.size:,} bytes ({written.size / 2**20:,.0f} MiB)"),
            (f"baseline: {name}, every record", f"{baseline:.1f} s ({n / baseline:,.0f} "
             "patients/s)"),
            ("export: read, build, write", f"{export:.1f} s"),
            ("export throughput", f"{n / export:,.0f} patients/s, {count / export:,.0f} "
             "resources/s"),
            ("export / baseline", f"{export / baseline:.2f}"),
        ]  # fmt: skip
    finally:
        engine.dispose()
        if not args.keep and temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    _print(rows, args.markdown)
    if args.keep:
        print(f"NDJSON in {out}", file=sys.stderr)


def _print(rows: list[tuple[str, str]], markdown: bool) -> None:
    if markdown:
        print("| measure | value |\n|---|---|")
        for k, v in rows:
            print(f"| {k} | {v} |")
    else:
        for k, v in rows:
            print(f"{k:34} {v}")


if __name__ == "__main__":
    main()
