"""``thecal import fhir FILE.json --user PHYSICIAN``: import one patient's FHIR R4 Bundle (as
``thecal export fhir`` writes it) into the clinic database: one transaction, audited as the
physician with the file named; nothing is written when anything is refused
(:mod:`thecal.interop.fhir_import`, docs/fhir.md). The clinical history comes with it (each
record from its anchor's record-json, checked against every standard element); with
``--without-history`` it is left out and counted.

Exit codes: 0 imported; 2 refused (one line naming the resource and element, e.g.
``Device/abc.modelNumber``) or not allowed.
"""

import json
from pathlib import Path

import typer

from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.export import ZONE_OPTION, zone_of
from thecal.cli.lazy import Lazy, lazy_group
from thecal.cli.registration import DB, JSON, USER, services_at, wants_json
from thecal.units import InputError

import_app = typer.Typer(
    help="Import records in standard formats.",
    no_args_is_help=True,
    cls=lazy_group(
        {
            "fhir": Lazy(
                "thecal.cli.import_fhir:fhir_cmd",
                "Import one patient's FHIR R4 Bundle (JSON), all or nothing.",
            ),
        }
    ),
)

MAX_BYTES = 64 * 1024 * 1024  # a storage bound against a runaway file, not a clinical limit


def read_bundle(path: Path) -> object:
    """The JSON document in ``path`` (InputError naming FILE)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError("FILE", f"{path} is larger than {MAX_BYTES} bytes", "one patient")
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError("FILE", f"cannot read {path}: {e.strerror}", "a readable file") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError("FILE", f"{path} is not JSON ({e})", "a FHIR Bundle in JSON") from None


@handles_errors
def fhir_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="the Bundle's JSON file"),
    user: str = USER,
    without_history: bool = typer.Option(
        False, "--without-history",
        help="leave out the clinical history (refills, program changes, interrogations, "
        "alarms, link deliveries, stimulator readings and everything derived from them) and "
        "count it; without this flag the history is imported, and a Bundle holding history "
        "this clinic cannot import is refused",
    ),
    zone: str | None = ZONE_OPTION,
    database: str | None = DB,
    json_out: bool = JSON,
) -> None:  # fmt: skip
    """Import one patient's FHIR R4 Bundle (JSON), all or nothing."""
    from thecal.interop.fhir_import import Catalogs, import_bundle

    tz = zone_of(zone)
    bundle = read_bundle(file)
    with services_at(database) as services:
        actor = services.registration.user(user)
        cats = Catalogs(services.library, services.catalog, services.stimulation)
        result = import_bundle(services.uow, services.clock, actor, bundle, cats=cats,
                               source=file.name, zone=tz,
                               without_history=without_history)  # fmt: skip
    p = result.patient
    if wants_json(ctx, json_out):
        o.emit_json({"patient": {"id": p.id, "mrn": p.mrn}, "taken": dict(result.taken),
                     "left_out": dict(result.left_out)})  # fmt: skip
        return
    taken = ", ".join(f"{n} {k}" for k, n in sorted(result.taken.items()))
    typer.echo(f"imported {p.mrn} (id {p.id}): {taken}")
    if result.left_out:
        left = ", ".join(f"{n} {k}" for k, n in sorted(result.left_out.items()))
        typer.echo(f"left out (history, --without-history): {left}")
