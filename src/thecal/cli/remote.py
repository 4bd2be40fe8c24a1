"""``thecal remote status|up|down|on|off|group``: the stimulator's patient remote (the
``remote`` role's key). The IPG decides: an amplitude outside the clinician's range, a group
the clinician did not write, or "on" after the clinician's "off" is refused (exit 3) with a
sentence for the patient. The amplitude step is the remote's setting (``--step``): the IPGs'
own steps are not public."""

from pathlib import Path

import typer

from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.programmer_link import ACK, KEY, PORT, link_client, refused
from thecal.link import Role
from thecal.programmer.commands import CommandError
from thecal.programmer.link_client import LinkRefused
from thecal.programmer.remote import PatientRemote, RemoteOutcome
from thecal.units import Dimension, fmt, parse_quantity

remote_app = typer.Typer(
    help="Patient remote for a stimulator (telemetry link).", no_args_is_help=True
)

STEP = typer.Option(..., "--step", help="amplitude step, e.g. '0.1 mA' (required)")
AREA = typer.Option(None, "--area", help="the area (needed when the group has several)")


def _outcome(port: int, key: Path, ack: float, what: object) -> None:
    try:
        with link_client(port, key, Role.REMOTE, ack) as client:
            out: RemoteOutcome = what(PatientRemote(client))  # type: ignore[operator]
    except (LinkRefused, CommandError) as exc:
        raise refused(str(exc)) from None
    if not out.done:
        raise refused(f"{out.reason}: {out.message}")
    o.console().print(out.message)


@remote_app.command("status")
@handles_errors
def status_cmd(port: int = PORT, key: Path = KEY, ack_timeout: float = ACK) -> None:
    """Stimulation status for the patient: on/off, program, amplitudes and allowed range."""
    try:
        with link_client(port, key, Role.REMOTE, ack_timeout) as client:
            s = PatientRemote(client).status()
    except (LinkRefused, CommandError) as exc:
        raise refused(str(exc)) from None
    out = o.console()
    out.print(f"stimulation: {s.therapy.value}; program {s.group or '—'} of {', '.join(s.groups)}")
    for a in s.areas:
        span = (
            f"{fmt(a.patient_min)} to {fmt(a.patient_max)}"
            if a.patient_min is not None and a.patient_max is not None
            else "not adjustable"
        )
        out.print(f"  {a.name}: {fmt(a.amplitude)} (you may set {span})")
    out.print(f"battery: {s.battery_state}; alarms: {', '.join(s.alarms) or 'none'}")


@remote_app.command("up")
@handles_errors
def up_cmd(
    step: str = STEP,
    area: str | None = AREA,
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """Amplitude one step up (within your clinician's range)."""
    q = parse_quantity(step, "--step", Dimension.CURRENT)
    _outcome(port, key, ack_timeout, lambda r: r.step(q, area=area, up=True))


@remote_app.command("down")
@handles_errors
def down_cmd(
    step: str = STEP,
    area: str | None = AREA,
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """Amplitude one step down (within your clinician's range)."""
    q = parse_quantity(step, "--step", Dimension.CURRENT)
    _outcome(port, key, ack_timeout, lambda r: r.step(q, area=area, up=False))


@remote_app.command("on")
@handles_errors
def on_cmd(port: int = PORT, key: Path = KEY, ack_timeout: float = ACK) -> None:
    """Turn stimulation on (not after your clinician turned it off)."""
    _outcome(port, key, ack_timeout, lambda r: r.stimulation(True))


@remote_app.command("off")
@handles_errors
def off_cmd(port: int = PORT, key: Path = KEY, ack_timeout: float = ACK) -> None:
    """Turn stimulation off."""
    _outcome(port, key, ack_timeout, lambda r: r.stimulation(False))


@remote_app.command("group")
@handles_errors
def group_cmd(
    name: str = typer.Argument(..., help="a program your clinician wrote", show_default=False),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """Choose another program (group) your clinician wrote."""
    _outcome(port, key, ack_timeout, lambda r: r.select_group(name))


__all__ = ["remote_app"]
