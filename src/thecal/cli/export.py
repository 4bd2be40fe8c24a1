"""``thecal export fhir PATIENT --out FILE.json``: one patient's record as a FHIR R4 Bundle;
``thecal export fhir --ndjson DIR``: the whole clinic as FHIR Bulk Data NDJSON
(:mod:`thecal.cli.export_ndjson`; docs/fhir.md). The ``export`` group lists each format's
command lazily (one line each), so another format's module plugs in beside ``fhir`` without
touching this one's code.

Exit codes: 0 written; 2 invalid input (unknown patient, bad zone, unwritable file, DIR not
new or empty, PATIENT and --ndjson both or neither).
"""

import json
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from thecal.cli.clinic import DB_OPTION
from thecal.cli.errors import handles_errors
from thecal.cli.files import write_whole
from thecal.cli.lazy import Lazy, lazy_group
from thecal.store.database import database_url
from thecal.units import InputError

export_app = typer.Typer(
    help="Export the clinic record in standard formats.",
    no_args_is_help=True,
    cls=lazy_group(
        {
            "fhir": Lazy(
                "thecal.cli.export:fhir_cmd",
                "Write one patient's record as a FHIR R4 Bundle (JSON), or the whole clinic "
                "as FHIR NDJSON (--ndjson DIR).",
            ),
            "csv": Lazy(
                "thecal.cli.export_csv:csv_cmd",
                "Write the registry tables and the audit log as CSV files (one per table).",
            ),
        }
    ),
)

ZONE_OPTION = typer.Option(
    None,
    "--zone",
    metavar="IANA",
    help="time zone of the clinic's local times, e.g. Europe/Berlin (default: this machine's)",
)


def zone_of(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name`` (None: the machine's zone); InputError naming ``--zone``."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("--zone", f"unknown time zone {name!r}", "an IANA name") from None


def write_json_atomically(path: Path, document: object) -> None:
    """Write ``document`` to ``path`` whole or not at all (a temporary file renamed)."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise InputError("--out", f"no folder {str(folder)!r}", "a file in an existing folder")
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    write_whole(folder / path.name, text.encode("utf-8"))


@handles_errors
def fhir_cmd(
    patient: str | None = typer.Argument(
        None, help="the patient's record number (MRN) or id (none with --ndjson)"
    ),
    out: Path | None = typer.Option(
        None, "--out", help="the Bundle's JSON file (replaced if present)"
    ),
    ndjson: Path | None = typer.Option(
        None,
        "--ndjson",
        metavar="DIR",
        help="write the whole clinic as FHIR NDJSON into DIR (new or empty), all or nothing",
    ),
    zone: str | None = ZONE_OPTION,
    database: str | None = DB_OPTION,
) -> None:
    """Write one patient's record as a FHIR R4 Bundle (JSON), or the whole clinic as FHIR
    NDJSON (one file per resource type and a manifest)."""
    from thecal.adapters import composition

    tz = zone_of(zone)
    if ndjson is not None:
        if patient is not None or out is not None:
            raise InputError("--ndjson", "the whole clinic is exported: no PATIENT, no --out",
                             "--ndjson DIR alone, or PATIENT --out FILE")  # fmt: skip
        _ndjson(ndjson, tz, database)
        return
    if patient is None or out is None:
        raise InputError("PATIENT", "one patient and --out FILE, or --ndjson DIR",
                         "PATIENT --out FILE.json, or --ndjson DIR")  # fmt: skip
    from thecal.interop.fhir_export import export_patient

    with composition.open_services(database_url(database)) as services:
        found = services.registration.find(key=patient)
        bundle = export_patient(services.uow, patient_id=found.id, library=services.library,
                                catalog=services.catalog, zone=tz)  # fmt: skip
    write_json_atomically(out, bundle)
    typer.echo(f"{found.mrn}: {len(bundle['entry'])} FHIR resources written to {out}")


def _ndjson(out: Path, tz: ZoneInfo | None, database: str | None) -> None:
    from datetime import datetime

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from thecal.adapters import composition
    from thecal.cli.export_ndjson import export_ndjson

    bar = Progress(TextColumn("FHIR NDJSON"), BarColumn(), MofNCompleteColumn(),
                   console=Console(stderr=True), transient=True)  # fmt: skip

    def progress(total: int) -> Callable[[int], None]:
        task = bar.add_task("patients", total=total)
        return lambda n: bar.advance(task, n)

    with composition.open_services(database_url(database)) as services, bar:
        written = export_ndjson(services.uow, services.library, services.catalog, out, zone=tz,
                                at=datetime.now().astimezone(), progress=progress)  # fmt: skip
    typer.echo(written.summary(out))
