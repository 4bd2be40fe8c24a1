"""``thecal export csv --out DIR``: the registry tables (patients, devices, procedures,
prescriptions, refills, interrogations, alarms) and, for a physician or a nurse, the audit log,
one CSV file per table (columns in docs/reports.md), read in one transaction. The files are
written whole or not at all: all go to a temporary folder inside DIR first, then each is
renamed into place. ``--user`` names who exports (a viewer gets the registry tables, not the
audit log). Exit codes: 0 written; 2 invalid input (no such folder or user, unknown table)."""

import csv
import io
import shutil
import tempfile
from pathlib import Path

import typer

from thecal.cli.errors import handles_errors
from thecal.cli.registration import DB, USER, services_at
from thecal.units import InputError

OUT_DIR = typer.Option(..., "--out", metavar="DIR", help="an existing folder for the CSV files")
TABLE = typer.Option([], "--table", help="only this table (repeatable); default: every table "
                     "the user may read")  # fmt: skip


@handles_errors
def csv_cmd(out: Path = OUT_DIR, table: list[str] = TABLE, user: str = USER,
            database: str | None = DB) -> None:  # fmt: skip
    """Write the registry tables and the audit log as CSV files (one per table)."""
    from thecal.interop.csv_export import export_all, export_tables

    if not out.is_dir():
        raise InputError("--out", f"no folder {out}", "an existing folder")
    with services_at(database) as svc:
        actor = svc.registration.user(user)
        files = export_tables(svc, actor, table) if table else export_all(svc, actor)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".thecal-csv-"))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8", newline="")
        for name in files:
            (staging / name).replace(out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for name, text in files.items():
        rows = sum(1 for _ in csv.reader(io.StringIO(text))) - 1  # a cell may hold a newline
        typer.echo(f"wrote {out / name} ({rows:,} rows)")
