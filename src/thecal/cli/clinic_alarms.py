"""``thecal clinic alarm list|ack|resolve``: the clinic's alarms (raised from the implants'
alarms at each interrogation) on the terminal. ``ack`` and ``resolve`` act as the clinic user
named by ``--as`` (a nurse or physician of the database; a viewer is refused, exit 2), audited
like the same action in the web app. Exit codes: 0 done; 2 invalid input, unknown alarm or
user, or refused."""

from typing import Any

import typer

from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.clinic.errors import PermissionDenied
from thecal.store.database import database_url
from thecal.units import InputError

alarm_app = typer.Typer(help="Clinic alarms: list, acknowledge, resolve.", no_args_is_help=True)

_DB = typer.Option(
    None, "--database-url", metavar="URL",
    help="SQLAlchemy URL; default $THECAL_DATABASE_URL, else the user's SQLite file",
)  # fmt: skip
_AS = typer.Option(
    ..., "--as", metavar="USERNAME", help="the clinic user acting (nurse or physician)"
)
_JSON = typer.Option(False, "--json", help="machine-readable JSON output")


def _json(a: Any, names: dict[str, str]) -> dict[str, Any]:
    from thecal.api.routers.alarms import alarm_json

    return alarm_json(a, names)


@alarm_app.command("list")
@handles_errors
def list_cmd(
    ctx: typer.Context,
    patient: str | None = typer.Option(
        None, "--patient", metavar="ID", help="one patient's alarms, open and resolved"
    ),
    database: str | None = _DB,
    json_out: bool = _JSON,
) -> None:
    """Open alarms, oldest first (or one patient's, open and resolved)."""
    from thecal.adapters import composition

    with composition.open_services(database_url(database)) as services:
        found = services.alarms.list(patient_id=patient)
    if json_out or o.state(ctx).json:
        o.emit_json({"alarms": [_json(a, found.names) for a in found.alarms]})
        return
    out = o.console()
    o.notice(out)
    o.heading(out, "Alarms" if patient else "Open alarms")
    if not found.alarms:
        out.print("no alarms")
        return
    t = o.table("id", "level", "alarm", "raised", "state")
    for a in found.alarms:
        if a.cleared_at:
            state = f"resolved {o.stamp(a.cleared_at)} by {a.cleared_by}: {a.resolution or ''}"
        elif a.acknowledged_at:
            state = f"open, acknowledged {o.stamp(a.acknowledged_at)} by {a.acknowledged_by}"
        else:
            state = "open"
        who = found.names.get(a.patient_id, a.patient_id)
        t.add_row(a.id, a.level, o.text(f"{a.code} ({who})"), o.stamp(a.raised_at), o.text(state))
    out.print(t)


def _act(database: str | None, username: str, json_out: bool, ctx: typer.Context,
         run: Any) -> None:  # fmt: skip
    from thecal.adapters import composition

    with composition.open_services(database_url(database)) as services:
        with services.uow.reader() as repo:
            user = repo.user_by_name(username)
        if user is None:
            raise InputError("--as", f"no clinic user {username!r}", "a user of this database")
        try:
            alarm = run(services, user)
        except PermissionDenied as exc:
            raise InputError("--as", exc.message) from None
        name = services.patient(patient_id=alarm.patient_id).display_name
    data = _json(alarm, {alarm.patient_id: name})
    if json_out or o.state(ctx).json:
        o.emit_json(data)
        return
    state = "resolved" if data["resolved_at"] else "acknowledged"
    typer.echo(f"alarm {alarm.id} {alarm.code} ({name}) {state} by {username}")


@alarm_app.command("ack")
@handles_errors
def ack_cmd(
    ctx: typer.Context,
    alarm_id: str = typer.Argument(..., metavar="ALARM_ID"),
    as_user: str = _AS, database: str | None = _DB, json_out: bool = _JSON,
) -> None:  # fmt: skip
    """Acknowledge an open alarm now (the first acknowledgement is kept)."""
    _act(database, as_user, json_out, ctx,
         lambda s, u: s.alarms.acknowledge(actor=u, alarm_id=alarm_id))  # fmt: skip


@alarm_app.command("resolve")
@handles_errors
def resolve_cmd(
    ctx: typer.Context,
    alarm_id: str = typer.Argument(..., metavar="ALARM_ID"),
    reason: str = typer.Option(..., "--reason", help="why the alarm is resolved"),
    as_user: str = _AS, database: str | None = _DB, json_out: bool = _JSON,
) -> None:  # fmt: skip
    """Resolve an open alarm now, saying why."""
    _act(database, as_user, json_out, ctx,
         lambda s, u: s.alarms.resolve(actor=u, alarm_id=alarm_id, why=reason))  # fmt: skip
