"""``thecal plan check|show|schema``: a plan file through the safety gate and the calculators."""

import json
from datetime import time
from pathlib import Path

import typer
from rich.console import Console

from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.extras import render_extras
from thecal.cli.plan_report import (
    Report,
    basal_groups,
    build_report,
    check_json,
    doses_per_drug,
    forecast_json,
    gate,
    refill_forecast,
    report_json,
    resolve_file,
    schedule_json,
)
from thecal.therapy.findings import Finding, blocks
from thecal.therapy.plan import ResolvedPlan
from thecal.therapy.plan_file import plan_json_schema
from thecal.therapy.refill_dates import RefillForecast
from thecal.units import fmt

__all__ = [  # the report and its JSON live in plan_report; callers import them from here too
    "Report", "build_report", "check_json", "forecast_json", "gate", "refill_forecast",
    "report_json", "resolve_file", "schedule_json",
]  # fmt: skip

PLAN_ARG = typer.Argument(..., help="plan file (TOML); see docs/plan-format.md", show_default=False)
JSON_OPT = typer.Option(False, "--json", help="machine-readable output (same as the global flag)")


def _rate_text(rate: o.Qty, resolved: ResolvedPlan) -> str:
    per_day = rate.to("mL/d")
    shown = (
        fmt(rate.to("mL/h")) + " = " + fmt(per_day) if not resolved.pump.implanted else fmt(per_day)
    )
    doses = ", ".join(f"{k} {fmt(v)}" for k, v in doses_per_drug(resolved, per_day).items())
    return f"{shown}  ({doses})"


def render(out: Console, r: Report, notice: bool = True) -> None:
    res = r.resolved
    pump = res.pump
    out.print(f"[bold]{o.text(r.plan.title or r.source)}[/bold]")
    if notice:
        o.notice(out)
    info = o.table("", "")
    kind = "implanted" if pump.implanted else "external"
    pump_text = f"{pump.model} ({pump.kind.value}, {kind})"
    if pump.reservoir is not None:
        pump_text += f", reservoir {fmt(pump.reservoir)}"
    info.add_row("Plan", o.text(r.source))
    info.add_row("Starts", o.stamp(r.plan.at))
    info.add_row("Pump", o.text(pump_text))
    info.add_row(
        "Admixture",
        o.text(
            " + ".join(f"{i.drug.name} {fmt(i.concentration)}" for i in res.admixture.ingredients)
        ),
    )
    out.print(info)

    o.heading(out, f"Schedule ({r.plan.schedule.mode})")
    for names, day in basal_groups(res.schedule.basal):
        label = "every day" if len(names) == 7 else ", ".join(names)
        if len(day.steps) == 1 and day.steps[0].start == time(0, 0):
            out.print(f"  {label}: {o.text(_rate_text(day.steps[0].rate, res))}")
            continue
        out.print(f"  {label}:")
        for step in day.steps:
            out.print(f"    from {step.start:%H:%M}  {o.text(_rate_text(step.rate, res))}")
    for p in res.schedule.periodic:
        out.print(
            f"  periodic bolus {fmt(p.volume)} over {o.dur(p.duration)} every {o.dur(p.every)}, "
            f"first {o.stamp(p.first)}"
        )
    for b in res.schedule.single:
        out.print(f"  single bolus {fmt(b.volume)} over {o.dur(b.duration)} at {o.stamp(b.at)}")
    bolus = res.program.patient_bolus
    if bolus is not None:
        doses = ", ".join(f"{k} {fmt(v)}" for k, v in res.admixture.doses(bolus.volume).items())
        out.print(
            f"  patient bolus {fmt(bolus.volume)} ({o.text(doses)}) over {o.dur(bolus.duration)}, "
            f"lockout {o.dur(bolus.lockout)}, at most {bolus.max_per_day} a day "
            f"(at most {bolus.max_count_per_day} fit in 24 h)"
        )

    o.heading(out, "Daily dose")
    t = o.table("", "nominal", "worst case")
    t.add_row("volume", fmt(r.dose.nominal_volume), fmt(r.dose.worst_case_volume))
    for name in res.admixture.drug_names:
        t.add_row(o.text(name), fmt(r.dose.nominal[name]), fmt(r.dose.worst_case[name]))
    out.print(t)
    out.print(
        "  [dim]nominal: the highest weekday's basal plus periodic boluses; worst case: adds the"
        " most periodic boluses any 24 h holds and every allowed patient bolus.[/dim]"
    )
    if r.forecast is not None:
        render_forecast(out, r.forecast)
    render_extras(out, r.extras)
    o.heading(out, "Findings")
    o.show_findings(out, r.findings)
    out.print()
    o.verdict(out, r.findings)


def render_forecast(out: Console, fc: RefillForecast, title: str = "Refill dates") -> None:
    o.heading(
        out,
        f"{title} (fill {fmt(fc.fill.volume)} at {o.stamp(fc.fill.at)}"
        + (", first fill of a new pump" if fc.fill.first_fill else "")
        + ")",
    )
    t = o.table("", "nominal", "worst case")
    t.add_row(
        f"low-reservoir alarm ({fmt(fc.alarm_threshold)})",
        o.stamp(fc.low_alarm_nominal),
        o.stamp(fc.low_alarm_worst),
    )
    t.add_row("reservoir empty", o.stamp(fc.empty_nominal), o.stamp(fc.empty_worst))
    out.print(t)
    out.print(
        f"  [bold]refill by {o.stamp(fc.refill_by)}[/bold] — decided by: {o.text(fc.decided_by)}"
    )
    for c in fc.candidates:
        out.print(f"    {o.stamp(c.at)}  {o.text(c.reason)}  [dim]({o.text(c.source)})[/dim]")
    if fc.margin.magnitude > 0:
        out.print(f"  [dim]refill margin {fmt(fc.margin)}[/dim]")


# --- commands --------------------------------------------------------------------------------


def _exit_for(findings: tuple[Finding, ...]) -> None:
    if blocks(findings):
        raise typer.Exit(o.EXIT_BLOCKED)


@handles_errors
def check_cmd(ctx: typer.Context, plan: Path = PLAN_ARG, json_out: bool = JSON_OPT) -> None:
    """Run the safety gate on a plan (the program, and the refill if the plan has a [fill]).

    Exit 0: no hard finding; 3: a hard finding refuses the plan; 2: invalid input."""
    st = o.state(ctx)
    resolved, library = resolve_file(plan, st.library)
    findings = gate(resolved, library)
    if st.json or json_out:
        o.emit_json(check_json(str(plan), findings))
    else:
        out = o.console()
        out.print(f"[bold]{o.text(resolved.plan.title or plan)}[/bold]")
        o.notice(out)
        o.heading(out, "Findings")
        o.show_findings(out, findings)
        out.print()
        o.verdict(out, findings)
    _exit_for(findings)


@handles_errors
def show_cmd(ctx: typer.Context, plan: Path = PLAN_ARG, json_out: bool = JSON_OPT) -> None:
    """Show doses, refill dates, bridge/priming boluses and findings of a plan.

    Admixture, schedule, nominal and worst-case daily dose, refill dates, bridge and priming
    boluses, and the safety gate's findings. Exit codes as for ``check``."""
    st = o.state(ctx)
    resolved, library = resolve_file(plan, st.library)
    report = build_report(str(plan), resolved, library)
    if st.json or json_out:
        o.emit_json(report_json(report))
    else:
        render(o.console(), report)
    _exit_for(report.findings)


def schema_cmd() -> None:
    """Print the plan file's JSON Schema (docs/schema/plan.schema.json is this output)."""
    typer.echo(schema_text(), nl=False)


def schema_text() -> str:
    return json.dumps(plan_json_schema(), indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "Report",
    "build_report",
    "check_cmd",
    "gate",
    "render",
    "report_json",
    "resolve_file",
    "schema_cmd",
    "schema_text",
    "show_cmd",
]
