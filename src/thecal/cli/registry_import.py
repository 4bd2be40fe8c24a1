"""``thecal clinic import-csv FILE.csv``: import an existing registry, all or nothing, every bad
row listed by line and field (columns: :mod:`thecal.clinic.registration_import`)."""

import csv
from collections.abc import Mapping
from pathlib import Path

import typer

from thecal.cli import output as o
from thecal.cli.registration import DB, JSON, USER, patient_rows, services_at, wants_json
from thecal.units import InputError


def read_csv(path: Path) -> list[tuple[int, Mapping[str, str]]]:
    """The rows of a UTF-8 CSV file with a header, each with its line number."""
    from thecal.clinic.registration_import import check_columns

    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, strict=True)
            check_columns(reader.fieldnames or [])
            rows: list[tuple[int, Mapping[str, str]]] = []
            for cells in reader:
                if None in cells or any(v is None for v in cells.values()):
                    raise InputError("csv", f"line {reader.line_num}: wrong number of cells",
                                     "one cell per column")  # fmt: skip
                rows.append((reader.line_num, dict(cells)))
    except OSError as e:
        raise InputError("FILE", f"cannot read {path}: {e.strerror}", "a readable file") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError("FILE", f"{path} is not a UTF-8 CSV file ({e})", "UTF-8 CSV") from None
    return rows


def import_csv_cmd(
    ctx: typer.Context, file: Path = typer.Argument(..., help="CSV file with a header row"),
    user: str = USER, database: str | None = DB, json_out: bool = JSON,
) -> None:  # fmt: skip
    """Import an existing registry: every row checked, all or nothing; a refusal lists every
    bad row by line and field (columns: docs/clinic.md, "Registration")."""
    from thecal.clinic.registration_import import ImportRefused

    as_json = wants_json(ctx, json_out)
    rows = read_csv(file)
    try:
        with services_at(database) as services:
            reg = services.registration
            actor = reg.user(user)
            good, bad = reg.check_import(rows)
            if bad:
                raise ImportRefused(bad)
            made = reg.import_rows(actor=actor, rows=good)
    except ImportRefused as e:
        # Every bad row, not only the first: the whole file is fixed and imported again.
        if as_json:
            o.emit_json(
                {
                    "imported": 0,
                    "errors": [
                        {"line": x.line, "field": x.field, "message": x.message} for x in e.errors
                    ],
                }
            )
            raise typer.Exit(2) from None
        for x in e.errors:
            typer.echo(f"error: {x}", err=True)
        raise
    if as_json:
        o.emit_json({"imported": len(made), "patients": patient_rows(made)})
    else:
        typer.echo(f"imported {len(made)} patient(s)")
