"""Clinic database commands: ``thecal db upgrade``, ``thecal audit verify``,
``thecal clinic calendar`` (and the registration commands of :mod:`thecal.cli.registration`).

The database is ``--database-url``, else ``$THECAL_DATABASE_URL``, else an SQLite file in the
user's data directory (created on first use). Exit codes: 0 done; 1 the audit chain does not
verify; 2 invalid input.
"""

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import typer

from thecal.cli import output as o
from thecal.cli.clinic_alarms import alarm_app
from thecal.cli.errors import handles_errors
from thecal.cli.registration import add_commands
from thecal.clinic.calendar import CalendarEntry, RefillStatus
from thecal.store.database import DATABASE_URL_ENV, database_url, make_engine
from thecal.store.migrate import current_revision, upgrade
from thecal.units import Dimension, InputError, parse_quantity

db_app = typer.Typer(help="The clinic database.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log of every write.", no_args_is_help=True)
clinic_app = typer.Typer(help="Clinic registry and refill calendar.", no_args_is_help=True)
add_commands(clinic_app)  # patient, device, procedure, complication, import-csv
clinic_app.add_typer(alarm_app, name="alarm")

DB_OPTION = typer.Option(
    None,
    "--database-url",
    metavar="URL",
    help=f"SQLAlchemy URL (sqlite:///FILE or postgresql://…); default ${DATABASE_URL_ENV}, "
    "else an SQLite file in the user data directory",
)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
@handles_errors
def upgrade_cmd(database: str | None = DB_OPTION) -> None:
    """Create the schema or migrate it to the latest revision (safe to repeat)."""
    url = database_url(database)
    engine = make_engine(url)
    try:
        upgrade(engine)
        typer.echo(f"database {_shown(url)} at revision {current_revision(engine)}")
    finally:
        engine.dispose()


@audit_app.command("verify")
@handles_errors
def verify_cmd(
    database: str | None = DB_OPTION,
    json_out: bool = typer.Option(False, "--json", help="machine-readable JSON output"),
) -> None:
    """Recompute the audit log's hash chain. Exit 0 when intact, 1 when a row was modified,
    deleted or inserted. Record the printed head hash elsewhere to anchor the chain."""
    from thecal.adapters import composition

    with composition.open_services(database_url(database)) as services:
        report = services.uow.verify_audit()
    if json_out:
        o.emit_json({"ok": report.ok, "rows": report.rows, "head": report.head,
                     "problems": list(report.problems)})  # fmt: skip
    elif report.ok:
        typer.echo(f"audit log intact: {report.rows} rows, head {report.head}")
    else:
        typer.echo(f"audit log TAMPERED: {len(report.problems)} problem(s)")
        for p in report.problems:
            typer.echo(f"  {p}")
    if not report.ok:
        raise typer.Exit(1)


def _entry_json(e: CalendarEntry) -> dict[str, Any]:
    return {
        "patient_id": e.patient_id, "mrn": e.mrn, "name": e.display_name,
        "status": e.status.value, "due": o.when(e.due), "days_left": e.days_left,
        "reason": e.reason, "source": e.source, "refill_by": o.when(e.refill_by),
        "planned_refill": o.when(e.planned_refill), "last_refill": o.when(e.last_refill_at),
    }  # fmt: skip


_STYLE = {
    RefillStatus.OVERDUE: "bold red",
    RefillStatus.DUE: "bold yellow",
    RefillStatus.DUE_SOON: "yellow",
    RefillStatus.SCHEDULED: "",
    RefillStatus.UNKNOWN: "dim",
}


@clinic_app.command("calendar")
@handles_errors
def calendar_cmd(
    ctx: typer.Context,
    today: str | None = typer.Option(None, "--today", metavar="DATE", help="YYYY-MM-DD"),
    soon: str | None = typer.Option(
        None,
        "--soon",
        help="look-ahead window for 'due soon' (default: clinic.toml due_soon_window)",
    ),
    status: list[RefillStatus] = typer.Option(
        [], "--status", help="statuses to list (repeatable); default: all"
    ),
    limit: int = typer.Option(200, "--limit", min=0, help="rows to list (counts cover all)"),
    offset: int = typer.Option(0, "--offset", min=0, help="rows to skip"),
    database: str | None = DB_OPTION,
    json_out: bool = typer.Option(False, "--json", help="machine-readable JSON output"),
) -> None:
    """Refills overdue, due today and due soon, from the refill-by date computed at each
    patient's last refill and the reason that decided it; counts per status for the whole
    clinic and one page of rows."""
    as_json = json_out or o.state(ctx).json
    try:
        day = date.fromisoformat(today) if today else datetime.now().date()
    except ValueError:
        raise InputError("--today", f"got {today!r}", "a date YYYY-MM-DD") from None
    window = None if soon is None else parse_quantity(soon, "--soon", Dimension.TIME)
    from thecal.adapters import composition

    with composition.open_services(database_url(database)) as services:
        # --today and --soon stand in for the services' clock and clinic.toml's window.
        at = datetime.combine(day, services.clock().time())
        chosen = replace(
            services, clock=lambda: at, soon=window if window is not None else services.soon
        )
        page = chosen.calendar(statuses=status or tuple(RefillStatus), limit=limit,
                               offset=offset)  # fmt: skip
    entries = page.entries
    counts = {s.value: n for s, n in page.counts.items()}
    if as_json:
        o.emit_json({"today": day.isoformat(), "counts": counts, "total": page.total,
                     "offset": offset, "entries": [_entry_json(e) for e in entries]})  # fmt: skip
        return
    out = o.console()
    o.notice(out)
    o.heading(out, f"Refill calendar for {day}")
    out.print(" · ".join(f"{n:,} {s}" for s, n in counts.items()))
    if page.total > len(entries):
        out.print(
            f"rows {offset + 1}–{offset + len(entries)} of {page.total:,} (--offset, --limit)"
        )
    if not entries:
        out.print("no patients with a pump in place" if not page.total else "no rows here")
        return
    t = o.table("status", "due", "days", "patient", "decided by")
    for e in entries:
        style = _STYLE[e.status]
        label = f"[{style}]{e.status.value}[/{style}]" if style else e.status.value
        t.add_row(
            label,
            o.stamp(e.due) if e.due else "—",
            "" if e.days_left is None else str(e.days_left),
            o.text(f"{e.mrn} {e.display_name}"),
            o.text(e.reason),
        )
    out.print(t)


def _add_implant_commands() -> None:
    # Imported here: clinic_implants uses DB_OPTION from this module.
    from thecal.cli.clinic_implants import implant_app

    clinic_app.add_typer(implant_app, name="implant")


_add_implant_commands()
