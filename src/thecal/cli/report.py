"""``thecal report refill|session|summary|worksheet … --out FILE.pdf``: the PDF reports of
:mod:`thecal.interop` from the clinic database. ``--user`` names who prints (any clinic user,
a viewer too); the patient is an MRN or an id. The file is written whole or not at all (a
temporary file beside it, then renamed). Exit codes: 0 written; 2 invalid input (unknown
patient, session or user, a malformed day, an ``--out`` that is not a .pdf)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from thecal.cli.errors import handles_errors
from thecal.cli.files import write_whole
from thecal.cli.registration import DB, USER, services_at
from thecal.units import InputError

report_app = typer.Typer(help="PDF reports (not a certified medical device).", no_args_is_help=True)
OUT = typer.Option(..., "--out", metavar="FILE.pdf", help="where to write the PDF")


def out_path(path: Path, suffix: str = ".pdf") -> Path:
    """``path`` if it names a ``suffix`` file in an existing folder (InputError naming --out)."""
    if path.suffix.lower() != suffix:
        raise InputError("--out", f"{path} is not a {suffix} file", f"a FILE{suffix}")
    if not path.parent.is_dir():
        raise InputError("--out", f"no folder {path.parent}", "an existing folder")
    return path


def _run(database: str | None, user: str, out: Path, make: Callable[[Any, Any], Any]) -> None:
    from thecal.interop.report_render import Printed

    target = out_path(out)
    with services_at(database) as svc:
        reg = svc.registration
        who = reg.user(user)
        report = make(svc, Printed(f"{who.display_name} ({who.role.value})", svc.clock()))
        data = report.pdf()
    write_whole(target, data)
    typer.echo(f"wrote {target} ({len(data):,} bytes)")


@report_app.command("refill")
@handles_errors
def refill_cmd(
    patient: str = typer.Argument(..., help="MRN or patient id"),
    refill_id: str = typer.Argument(..., help="the refill's id"),
    out: Path = OUT,
    user: str = USER,
    database: str | None = DB,
) -> None:
    """The refill session record of one refill."""
    from thecal.interop.report_sessions import refill_report

    _run(
        database,
        user,
        out,
        lambda svc, printed: refill_report(
            svc, printed, patient_id=svc.registration.find(key=patient).id, refill_id=refill_id
        ),
    )


@report_app.command("session")
@handles_errors
def session_cmd(
    patient: str = typer.Argument(..., help="MRN or patient id"),
    session_id: str = typer.Argument(..., help="a program change's or an interrogation's id"),
    out: Path = OUT,
    user: str = USER,
    database: str | None = DB,
) -> None:
    """The report of a programming session or an interrogation."""
    from thecal.interop.report_sessions import session_report

    _run(
        database,
        user,
        out,
        lambda svc, printed: session_report(
            svc, printed, patient_id=svc.registration.find(key=patient).id, session_id=session_id
        ),
    )


@report_app.command("summary")
@handles_errors
def summary_cmd(
    patient: str = typer.Argument(..., help="MRN or patient id"),
    out: Path = OUT,
    user: str = USER,
    database: str | None = DB,
) -> None:
    """The patient therapy summary: devices, doses, refill history, findings, alarms."""
    from thecal.interop.report_summary import summary_report

    _run(
        database,
        user,
        out,
        lambda svc, printed: summary_report(
            svc, printed, patient_id=svc.registration.find(key=patient).id
        ),
    )


@report_app.command("worksheet")
@handles_errors
def worksheet_cmd(
    day: str = typer.Argument(..., help="YYYY-MM-DD"),
    out: Path = OUT,
    user: str = USER,
    database: str | None = DB,
) -> None:
    """The day's refill worksheet: each patient due, drug, expected residual, volume."""
    from thecal.interop.report_worksheet import parse_day, worksheet_report

    when = parse_day(day)
    _run(database, user, out, lambda svc, printed: worksheet_report(svc, printed, day=when))
