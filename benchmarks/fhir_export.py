"""FHIR export benchmark: the 100,000-patient clinic of ``clinic_load.py`` written as FHIR R4
NDJSON (one resource per line, one file per resource type, as FHIR Bulk Data writes it).

Run: .venv/bin/python benchmarks/fhir_export.py [--patients 100000] [--out DIR] [--markdown]

1. Uses ``clinic_load.py``'s database (SQLite, built once and cached under
   ``$TMPDIR/thecal-bench``): each patient an implanted pump, one prescription (the packaged
   ``refill-morphine`` plan) and one refill. Random numbers to load the export, not a clinic.
2. Baseline, same run: reads every patient's record through the clinic's port
   (:func:`thecal.interop.fhir_record.read_patient`, one read transaction per patient) and
   builds nothing.
3. Export: the same reads, every resource built (:func:`thecal.interop.fhir_export.resources`,
   plans resolved once per distinct plan) and written to ``DIR/<Type>.ndjson``.
4. Reports patients/s and resources/s of the export, the bytes written, and the export's time
   as a ratio to the baseline's (how much the FHIR building and writing add to the reads).
   Progress with Rich. Nothing here is a test: results go to benchmarks/README.md.
"""

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date
from pathlib import Path
from typing import IO

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from clinic_load import cached_database
from thecal.adapters.data_files import load_catalog, load_library
from thecal.interop.fhir_export import resources
from thecal.interop.fhir_record import read_patient, stamp_in
from thecal.interop.fhir_therapy import Therapy
from thecal.store.database import make_engine
from thecal.store.migrate import upgrade
from thecal.store.uow import SqlUnitOfWork


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 23))
    ap.add_argument("--out", type=Path, default=None, help="NDJSON folder (default: a temp dir)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    db = cached_database(args.patients, args.seed, args.today)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    library, catalog = load_library(), load_catalog()
    stamp = stamp_in(UTC)
    with uow.reader() as repo:
        ids = [p.id for p in repo.list_patients()]

    with _progress() as bar:
        task = bar.add_task("baseline: read records", total=len(ids))
        t0 = time.perf_counter()
        for pid in ids:
            with uow.reader() as repo:
                read_patient(repo, pid)
            bar.advance(task)
        baseline = time.perf_counter() - t0

    out = args.out or Path(tempfile.mkdtemp(prefix="thecal-fhir-"))
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, IO[str]] = {}
    cache: dict[str, Therapy] = {}
    count = 0
    try:
        with _progress() as bar:
            task = bar.add_task("export: FHIR NDJSON", total=len(ids))
            t0 = time.perf_counter()
            for pid in ids:
                with uow.reader() as repo:
                    data = read_patient(repo, pid)
                for r in resources(data, library, catalog, stamp, cache):
                    kind = r["resourceType"]
                    f = files.get(kind)
                    if f is None:
                        f = files[kind] = (out / f"{kind}.ndjson").open("w", encoding="utf-8")
                    f.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
                    count += 1
                bar.advance(task)
            for f in files.values():
                f.flush()
            export = time.perf_counter() - t0
    finally:
        for f in files.values():
            f.close()
        engine.dispose()

    size = sum(p.stat().st_size for p in out.glob("*.ndjson"))
    rows = [
        ("patients", f"{len(ids):,}"),
        ("resources written", f"{count:,} in {len(files)} files ({', '.join(sorted(files))})"),
        ("NDJSON written", f"{size / 2**20:.0f} MiB"),
        ("baseline: read every record",
         f"{baseline:.1f} s ({len(ids) / baseline:,.0f} patients/s)"),
        ("export: read, build, write", f"{export:.1f} s"),
        ("export throughput", f"{len(ids) / export:,.0f} patients/s, {count / export:,.0f} "
         "resources/s"),
        ("export / baseline", f"{export / baseline:.2f}"),
    ]  # fmt: skip
    if args.markdown:
        print("| measure | value |\n|---|---|")
        for k, v in rows:
            print(f"| {k} | {v} |")
    else:
        for k, v in rows:
            print(f"{k:30} {v}")
    print(f"NDJSON in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
