"""``thecal clinic implant link SERIAL --address HOST:PORT --key-file F --as USER --reason R``
and ``thecal clinic implant list``: the implants' telemetry links in the clinic database.

A link is a physician's decision: ``--as`` names the physician (a user of the clinic
database), audited with ``--reason``. The key file is the clinician credential written by
``thecal provision --clinician``; its key is stored and never printed (a link shows its key
id, a fingerprint). Exit codes: 0 done; 2 invalid input or not allowed.
"""

from pathlib import Path

import typer

from thecal.cli import output as o
from thecal.cli.clinic import DB_OPTION
from thecal.cli.errors import handles_errors
from thecal.store.database import database_url
from thecal.units import InputError

implant_app = typer.Typer(help="Implants' telemetry links.", no_args_is_help=True)


@implant_app.command("link")
@handles_errors
def link_cmd(
    serial: str = typer.Argument(..., help="serial of the implant in place"),
    address: str = typer.Option(..., "--address", metavar="HOST:PORT", help="127.0.0.1:PORT"),
    key_file: Path = typer.Option(..., "--key-file", help="clinician key file (mode 0600)"),
    actor: str = typer.Option(..., "--as", metavar="USER", help="the physician registering it"),
    reason: str = typer.Option(..., "--reason", help="why the link is set (audited)"),
    database: str | None = DB_OPTION,
) -> None:
    """Register or change the telemetry link of the implant in place with SERIAL."""
    from thecal.adapters import composition
    from thecal.adapters.link_keys import key_fingerprint
    from thecal.link.keystore import KeyFileError, read_key_file

    try:
        key = read_key_file(key_file, "clinician")
    except KeyFileError as exc:
        raise InputError("--key-file", str(exc), "a clinician key file") from None
    with composition.open_services(database_url(database)) as services:
        with services.uow.reader() as repo:
            user = repo.user_by_name(actor)
        if user is None:
            raise InputError("--as", f"no user {actor!r}", "a physician of the clinic database")
        record = services.implant_links.register(actor=user, serial=serial, address=address,
                                                 key=key.key, key_id=key_fingerprint(key.key),
                                                 key_serial=key.serial,
                                                 reason=reason)  # fmt: skip
    typer.echo(f"implant {record.serial}: link {record.address}, key {record.key_id}")


@implant_app.command("list")
@handles_errors
def list_cmd(
    ctx: typer.Context,
    database: str | None = DB_OPTION,
    json_out: bool = typer.Option(False, "--json", help="machine-readable JSON output"),
) -> None:
    """Every registered link of an implant in place (address and key id, never the key)."""
    from thecal.adapters import composition

    with composition.open_services(database_url(database)) as services:
        records = services.implant_links.list()
    if json_out or o.state(ctx).json:
        o.emit_json({"links": [{"serial": r.serial, "address": str(r.address),
                                "key_id": r.key_id, "by": r.by, "at": r.at.isoformat()}
                               for r in records]})  # fmt: skip
        return
    for r in records:
        typer.echo(f"{r.serial}  {r.address}  {r.key_id}  set by {r.by} {r.at:%Y-%m-%d %H:%M}")
    if not records:
        typer.echo("no implant links registered")
