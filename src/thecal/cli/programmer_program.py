"""``thecal programmer interrogate`` and ``thecal programmer program``: read the implant's state,
and write a plan's program through the safety gate with confirmation, read-back and verification."""

from pathlib import Path

import typer

from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.plan_files import load_plan
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.programmer_link import (
    ACK,
    EXIT_REFUSED,
    KEY,
    PORT,
    REASON,
    clinician_for,
    link_client,
    parse_reasons,
    refused,
)
from thecal.devices.pump import BolusState, Program
from thecal.devices.states import DeliveryState
from thecal.link import Role
from thecal.programmer.clinician import ProgrammerError
from thecal.therapy.findings import OverrideError
from thecal.therapy.plan import resolve
from thecal.units import Dimension, InputError, fmt, parse_quantity


@handles_errors
def interrogate_cmd(
    ctx: typer.Context,
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
    events: int = typer.Option(10, "--events", help="log entries to show"),
) -> None:
    """Interrogate: identity, status, program, alarms, reservoir, battery, event log."""
    with link_client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = clinician_for(ctx, client, None)
        report = c.interrogate()
    s = report.status
    out = o.console()
    out.print(f"{s.serial} {s.model}  device time {s.device_time:%Y-%m-%d %H:%M}")
    held = f"no: {s.delivery.value} ({', '.join(s.holds)})"
    out.print(f"delivering: {'yes' if s.delivery is DeliveryState.DELIVERING else held}")
    if s.bolus is not BolusState.NONE:
        out.print(f"bolus: {s.bolus.value}")
    out.print(f"reservoir estimate: {fmt(s.reservoir_estimate)}")
    out.print(f"alarms: {', '.join(a.condition.name for a in s.alarms) or 'none'}")
    out.print(f"ERI: {s.eri_at or '—'}  EOS: {s.eos_at or '—'}")
    out.print(f"log entries: {len(report.events)} (last seq {s.last_seq})")
    for e in report.events[-events:]:
        out.print(f"  #{e.seq} {e.at:%Y-%m-%d %H:%M} {e.kind.value} {o.text(e.message)}")


@handles_errors
def program_cmd(
    ctx: typer.Context,
    plan_file: Path = typer.Argument(
        ..., help="plan file with the new program", show_default=False
    ),
    port: int = PORT,
    key: Path = KEY,
    ack_timeout: float = ACK,
    yes: bool = typer.Option(False, "--yes", help="confirm without asking (scripts)"),
    reason: list[str] = REASON,
) -> None:
    """Show current vs pending program, run the safety gate, confirm, write, read back, verify."""
    library = load_library(o.state(ctx).library)
    plan = load_plan(plan_file)
    resolved = resolve(plan.to_typed(), library, load_catalog())
    reasons = parse_reasons(reason)
    out = o.console()
    with link_client(port, key, Role.CLINICIAN, ack_timeout) as client:
        c = clinician_for(ctx, client, plan.patient.opioid_naive)
        current = c.status.program
        threshold = (
            parse_quantity(
                plan.pump.low_reservoir_alarm, "pump.low_reservoir_alarm", Dimension.VOLUME
            )
            if plan.pump.low_reservoir_alarm
            else (current.low_reservoir_threshold if current else c.spec.low_reservoir_alarm)
        )
        if threshold is None:
            raise InputError("pump.low_reservoir_alarm", "is required", "e.g. '2 mL'")
        pending = Program(
            resolved.schedule, resolved.admixture, threshold, resolved.program.patient_bolus
        )
        change = c.prepare_program(pending)
        t = o.table("", "current", "pending")
        for row in change.rows:
            mark = "*" if row.changed else ""
            t.add_row(mark + row.item, o.text(row.current), o.text(row.pending))
        out.print(t)
        o.show_findings(out, change.findings)
        if change.blocked:
            raise refused("a hard limit cannot be overridden")
        missing = [f.code.value for f in change.needs_reason if f.code.value not in reasons]
        if missing and not yes:
            for code in missing:
                reasons[code] = typer.prompt(f"reason for {code}")
        if not yes and not typer.confirm("write this program to the implant?"):
            raise refused("not confirmed")
        try:
            result = c.write_program(change, reasons, confirmed=True)
        except (OverrideError, ProgrammerError) as exc:
            raise refused(str(exc)) from None
    if not result.committed:
        o.show_findings(out, result.device_findings)
        raise refused(f"the implant refused the program: {result.reply.message}")
    out.print(
        "program written, read back and verified" if result.verified else "WRITTEN BUT NOT VERIFIED"
    )
    if not result.verified:
        raise typer.Exit(EXIT_REFUSED)
