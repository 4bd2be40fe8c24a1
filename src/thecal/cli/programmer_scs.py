"""``thecal programmer scs interrogate|impedance|write|amplitude|group|stimulation|mri``: the
clinician's stimulator programmer on an IPG served on 127.0.0.1 (``thecal implant serve
SCENARIO`` with a stimulator scenario). ``write`` checks a stimulation program file offline
first (the stimulation gate: a hard finding refuses, exit 3, nothing sent), then stages it,
reads it back, verifies it and commits it; the IPG's firmware applies its own gate too.
Exit codes: 0 done, 3 refused (by the gate, the link or the IPG), 2 bad input."""

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.programmer_link import ACK, KEY, PORT, link_client, refused
from thecal.devices.refusals import CommandResult
from thecal.link import Role
from thecal.programmer.clinician_session import ProgrammerError
from thecal.programmer.commands import CommandError
from thecal.programmer.link_client import LinkRefused
from thecal.programmer.stimulator import StimulatorProgrammer
from thecal.programmer.wire_stimulator import impedance_to_json, stim_status_to_json
from thecal.units import Dimension, InputError, fmt, parse_quantity

scs_app = typer.Typer(
    help="Spinal cord stimulator (clinician programmer, telemetry link).", no_args_is_help=True
)
T = TypeVar("T")
JSON_OPT = typer.Option(False, "--json", help="machine-readable output (same as the global flag)")


def _json(ctx: typer.Context, flag: bool) -> bool:
    return flag or o.state(ctx).json


def _session(port: int, key: Path, ack: float, what: Callable[[StimulatorProgrammer], T]) -> T:
    """Connect as the clinician, run ``what(programmer)``, close; return its result. A
    refusal by the link, the programmer or the command layer is exit 3."""
    try:
        with link_client(port, key, Role.CLINICIAN, ack) as client:
            return what(StimulatorProgrammer(client))
    except (LinkRefused, ProgrammerError, CommandError) as exc:
        raise refused(str(exc)) from None


def _done(result: CommandResult, done: str) -> None:
    out = o.console()
    if result.refused:
        o.show_findings(out, result.findings)
        code = result.refusal.value if result.refusal else "refused"
        raise refused(f"{code}: {result.reason}")
    out.print(done if result.state_changed else "unchanged")


@scs_app.command("interrogate")
@handles_errors
def interrogate_cmd(
    ctx: typer.Context,
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
    events: int = typer.Option(10, "--events", help="log entries to show"),
    json_out: bool = JSON_OPT,
) -> None:
    """Interrogate: therapy state, groups, amplitudes and safe maxima, battery, impedances."""
    report = _session(port, key, ack_timeout, lambda c: c.interrogate())
    s = report.status
    if _json(ctx, json_out):
        o.emit_json({"status": stim_status_to_json(s), "events": len(report.events)})
        return
    out = o.console()
    out.print(f"{s.serial} {s.model}  device time {s.device_time:%Y-%m-%d %H:%M}")
    out.print(f"therapy: {s.therapy.value}; group {s.group or '—'} of {', '.join(s.groups) or '—'}")
    safe = dict(s.safe_max)
    for area, amp in s.amplitudes:
        top = safe.get(area)
        out.print(f"  {area}: {fmt(amp)} (safe maximum {fmt(top) if top is not None else '—'})")
    if s.disabled_contacts:
        out.print(f"contacts off: {', '.join(s.disabled_contacts)}")
    out.print(f"battery: {s.battery_kind.value}, {fmt(s.battery_voltage)}, {s.battery_state.value}")
    out.print(f"alarms: {', '.join(a.condition.name for a in s.alarms) or 'none'}")
    if s.last_impedance is not None:
        out.print(f"last impedance test: {s.last_impedance.at:%Y-%m-%d %H:%M}")
    out.print(f"log entries: {len(report.events)} (last seq {s.last_seq})")
    for e in report.events[-events:]:
        out.print(f"  #{e.seq} {e.at:%Y-%m-%d %H:%M} {e.kind.value} {o.text(e.message)}")


@scs_app.command("impedance")
@handles_errors
def impedance_cmd(
    ctx: typer.Context,
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
    json_out: bool = JSON_OPT,
) -> None:
    """Measure every contact (monopolar and bipolar); the IPG clamps what it cannot drive."""
    r = _session(port, key, ack_timeout, lambda c: c.impedance_test())
    if r.report is None:
        _done(r.result, "")
        return
    if _json(ctx, json_out):
        o.emit_json(
            {
                "impedance": impedance_to_json(r.report),
                "safe_max": [[a, o.q(q, "mA")] for a, q in r.safe_max],
                "amplitudes": [[a, o.q(q, "mA")] for a, q in r.amplitudes],
                "disabled_contacts": list(r.disabled_contacts),
            }
        )
        return
    out = o.console()
    t = o.table("path", "kind", "impedance", "")
    for x in r.report.readings:
        t.add_row(
            x.label, x.kind, fmt(x.impedance), "" if x.flag.value == "in range" else x.flag.value
        )
    out.print(t)
    for (area, amp), (_, top) in zip(r.amplitudes, r.safe_max, strict=False):
        out.print(
            f"{area}: running {fmt(amp)}, safe maximum {fmt(top) if top is not None else '—'}"
        )
    if r.disabled_contacts:
        out.print(f"contacts off: {', '.join(r.disabled_contacts)}")


@scs_app.command("write")
@handles_errors
def write_cmd(
    program_file: Path = typer.Argument(
        ..., help="stimulation program file (TOML, docs/stimulation.md)", show_default=False
    ),
    group: str = typer.Option(..., "--group", help="the group's name on the IPG (e.g. A)"),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
    catalog: list[Path] = typer.Option(
        [], "--catalog", metavar="FILE", help="institution stimulator catalog"
    ),
) -> None:
    """Write a group program: gate, stage, read back, verify, commit."""
    from thecal.adapters.stimulator_files import load_stimulation_file, load_stimulator_catalog
    from thecal.cli.stimulation import run_check  # the offline check of `stimulation check`
    from thecal.stimulation.resolve import resolve
    from thecal.therapy.findings import blocks

    check = run_check(program_file, catalog)
    out = o.console()
    if blocks(check.findings):
        o.show_findings(out, check.findings)
        raise refused("the stimulation gate found a hard limit: nothing sent")
    program = resolve(load_stimulation_file(program_file), load_stimulator_catalog(catalog)).program
    result = _session(port, key, ack_timeout, lambda c: c.write_group(group, program))
    _done(result, f"group {group!r} written and verified")


@scs_app.command("amplitude")
@handles_errors
def amplitude_cmd(
    area: str = typer.Argument(..., help="an area of the running group", show_default=False),
    amplitude: str = typer.Argument(..., help="e.g. '3.5 mA'", show_default=False),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """Set an area's amplitude (the IPG's own limits and clamp apply)."""
    amp = parse_quantity(amplitude, "amplitude", Dimension.CURRENT)
    _done(
        _session(port, key, ack_timeout, lambda c: c.set_amplitude(area, amp)),
        f"{area}: {fmt(amp)}",
    )


@scs_app.command("group")
@handles_errors
def group_cmd(
    name: str = typer.Argument(..., help="a group written on the IPG", show_default=False),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """Select the running group."""
    _done(_session(port, key, ack_timeout, lambda c: c.select_group(name)), f"group {name!r} runs")


def _switch(value: str, field: str) -> bool:
    if value not in ("on", "off"):
        raise InputError(field, f"got {value!r}", "on or off")
    return value == "on"


@scs_app.command("stimulation")
@handles_errors
def stimulation_cmd(
    state: str = typer.Argument(..., help="on or off", show_default=False),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """Turn stimulation on or off."""
    on = _switch(state, "state")
    _done(_session(port, key, ack_timeout, lambda c: c.stimulation(on)), f"stimulation {state}")


@scs_app.command("mri")
@handles_errors
def mri_cmd(
    state: str = typer.Argument(..., help="on or off", show_default=False),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
) -> None:
    """MRI mode on or off (per the IPG's labelling)."""
    on = _switch(state, "state")
    _done(_session(port, key, ack_timeout, lambda c: c.mri_mode(on)), f"MRI mode {state}")


__all__ = ["scs_app"]
