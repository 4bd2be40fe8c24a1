"""``thecal programmer ack|alarm-test|clock|mri``: acknowledge alarms, sound the alarm tones,
check (and set) the implant clock, and run the MRI checklists before and after a scan."""

from datetime import datetime
from pathlib import Path

import typer

from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.programmer_link import ACK, KEY, PORT, clinician_for, link_client, refused
from thecal.link import Role
from thecal.programmer.clinician import (
    ChecklistItem,
    CommandRefused,
    ProgrammerError,
    mri_ready,
)
from thecal.programmer.link_client import AckLost
from thecal.programmer.wire_device import result_from_json
from thecal.units import Dimension, InputError, fmt, parse_quantity


@handles_errors
def ack_cmd(
    ctx: typer.Context,
    condition: int | None = typer.Option(None, "--condition", help="alarm number; default all"),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """Acknowledge an alarm (all by default)."""
    with link_client(port, key, Role.CLINICIAN, ack_timeout) as client:
        reply = clinician_for(ctx, client, None).acknowledge_alarm(condition)
    o.console().print("acknowledged" if reply.state_changed else "nothing to acknowledge")


@handles_errors
def alarm_test_cmd(
    ctx: typer.Context, port: int = PORT, key: Path = KEY, ack_timeout: float = ACK
) -> None:
    """Sound the implant's alarm tones (check the patient can hear them)."""
    with link_client(port, key, Role.CLINICIAN, ack_timeout) as client:
        try:
            reply = clinician_for(ctx, client, None).alarm_test()
        except CommandRefused as exc:
            raise refused(str(exc)) from None
    result = result_from_json(reply.data.get("result", {}))
    out = o.console()
    for t in result.tones:
        out.print(f"tone: {t.count} × {fmt(t.duration)} ({o.text(t.source)})")
    if not result.tones:
        out.print("no tone sounded")
    if result.refusal is not None:
        out.print(f"note: {result.reason}")


def _when(text: str, field: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(field, f"{text!r} is not a date and time", "2024-01-01T08:00") from None
    if t.tzinfo is not None:
        raise InputError(field, "device times have no time zone", "2024-01-01T08:00")
    return t


@handles_errors
def clock_cmd(
    ctx: typer.Context,
    tolerance: str = typer.Option(
        ..., "--tolerance", help="largest acceptable drift (no public bound), e.g. '2 min'"
    ),
    reference: str | None = typer.Option(
        None, "--reference", help="reference time (default: this computer's local clock)"
    ),
    set_clock: bool = typer.Option(
        False, "--set", help="set the implant clock to the reference time"
    ),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """Read the implant clock and report its drift against the reference; --set corrects it.

    Exit 3 when the drift exceeds the tolerance and was not corrected, or the set was refused."""
    tol = parse_quantity(tolerance, "--tolerance", Dimension.TIME)
    out = o.console()
    with link_client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = clinician_for(ctx, client, None)
        ref = _when(reference, "--reference") if reference else datetime.now()
        check = c.read_clock(ref, tol)
        drift_s = float(check.drift.to("s").magnitude)
        out.print(f"implant clock: {check.device_time:%Y-%m-%d %H:%M:%S}")
        out.print(f"reference:     {check.reference:%Y-%m-%d %H:%M:%S}")
        out.print(
            f"drift: {drift_s:+.0f} s ({'within' if check.within else 'OUTSIDE'} ±{fmt(tol)})"
        )
        if not set_clock:
            if not check.within:
                raise refused("clock drift beyond the tolerance: review, then set it with --set")
            return
        # The reference was read before the round trip: move it on by the time spent since.
        target = ref if reference else datetime.now()
        try:
            reply = c.set_clock(target)
        except CommandRefused as exc:
            raise refused(str(exc)) from None
    if not reply.state_changed:
        raise refused(f"the implant refused the clock change: {reply.message or reply.code}")
    out.print(f"implant clock set to {target:%Y-%m-%d %H:%M:%S}")


def _checklist(items: tuple[ChecklistItem, ...]) -> None:
    out = o.console()
    for i in items:
        mark = "x" if i.done else ("!" if i.required else "-")
        out.print("  " + o.text(f"[{mark}] {i.text}"))


@handles_errors
def mri_cmd(
    ctx: typer.Context,
    before: bool = typer.Option(False, "--before", help="checklist before the scan"),
    after: bool = typer.Option(False, "--after", help="post-MRI resume and confirmation"),
    emptied: bool = typer.Option(
        False, "--emptied", help="(before) the whole reservoir was withdrawn"
    ),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """MRI checklist. --before: read-only; a valve-gated pump must be emptied, a pump is never
    programmed to 'stopped' for the scan. --after: post-MRI resume, interrogate, confirm
    delivery resumed. Exit 3 when not ready / not resumed."""
    if before == after:
        raise InputError("--before/--after", "give exactly one", "--before or --after")
    with link_client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = clinician_for(ctx, client, None)
        try:
            items = c.mri_before(emptied) if before else c.mri_after()
        except (ProgrammerError, AckLost) as exc:
            raise refused(str(exc)) from None
    _checklist(items)
    if not mri_ready(items):
        raise refused(
            "NOT ready for the MRI: complete the items marked [!]"
            if before
            else "delivery has NOT resumed: interrogate again later and review"
        )
    o.console().print("ready for the MRI" if before else "delivery resumed after the MRI")
