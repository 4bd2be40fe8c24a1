"""``thecal plan check|show|schema``: a plan file through the safety gate and the calculators."""

import json
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.plan_files import load_plan
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.extras import Extras, compute_extras, extras_json, render_extras
from thecal.therapy.delivery import DailyDose, daily_dose
from thecal.therapy.findings import Finding, blocks, needs_reason, ordered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import PlanFile, ResolvedPlan, plan_json_schema, resolve
from thecal.therapy.proposal import RefillProposal
from thecal.therapy.refill_dates import RefillForecast, forecast
from thecal.therapy.safety_gate import check
from thecal.therapy.schedule import WEEKDAYS, BasalProgram
from thecal.units import fmt

PLAN_ARG = typer.Argument(..., help="plan file (TOML); see docs/plan-format.md", show_default=False)
JSON_OPT = typer.Option(False, "--json", help="machine-readable output (same as the global flag)")


@dataclass
class Report:
    """Everything ``plan show`` prints, as core objects."""

    source: str
    resolved: ResolvedPlan
    library: DrugLibrary
    dose: DailyDose
    findings: tuple[Finding, ...]
    forecast: RefillForecast | None = None
    extras: Extras = field(default_factory=Extras)

    @property
    def plan(self) -> PlanFile:
        return self.resolved.plan

    @property
    def blocked(self) -> bool:
        return blocks(self.findings)


# --- computing -------------------------------------------------------------------------------


def resolve_file(path: Path, library_files: list[Path]) -> tuple[ResolvedPlan, DrugLibrary]:
    """Load the library (shipped + ``$THECAL_LIBRARY`` + ``library_files``) and the plan."""
    library = load_library(library_files)
    plan = load_plan(path)
    return resolve(plan, library, load_catalog()), library


def gate(resolved: ResolvedPlan, library: DrugLibrary) -> tuple[Finding, ...]:
    """The gate's findings for the program — or for the refill proposal, which includes the
    program's, when the plan has a [fill] — plus the rate-rounding notes. Hard first."""
    proposal = resolved.refill_proposal
    result = check(proposal if proposal is not None else resolved.program, library)
    out: list[Finding] = list(result.findings)
    seen = {(f.code, f.message, f.drug) for f in out}
    for f in resolved.rounding:
        if (f.code, f.message, f.drug) not in seen:
            out.append(f)
    return ordered(out)


def refill_forecast(
    resolved: ResolvedPlan, library: DrugLibrary, proposal: RefillProposal | None = None
) -> RefillForecast | None:
    """Refill dates for ``proposal`` (default: the plan's [fill]); None without a fill."""
    proposal = proposal or resolved.refill_proposal
    if proposal is None:
        return None
    return forecast(
        proposal.fill,
        resolved.schedule,
        resolved.pump,
        proposal.alarm_threshold,
        resolved.program.patient_bolus,
        resolved.admixture,
        library,
        reported=proposal.reported,
        planned_refill=proposal.planned_refill,
    )


def build_report(source: str, resolved: ResolvedPlan, library: DrugLibrary) -> Report:
    dose = daily_dose(resolved.schedule, resolved.admixture, resolved.program.patient_bolus)
    extras = compute_extras(resolved, library)
    findings = ordered([*gate(resolved, library), *extras.findings])
    return Report(
        source, resolved, library, dose, findings, refill_forecast(resolved, library), extras
    )


# --- JSON ------------------------------------------------------------------------------------


def _rate_json(rate: o.Qty, resolved: ResolvedPlan) -> dict[str, Any]:
    per_day = rate.to("mL/d")
    return {
        "rate": o.q(per_day),
        "rate_per_hour": o.q(rate.to("mL/h")),
        "doses": {k: o.q(v) for k, v in _doses(resolved, per_day).items()},
    }


def _doses(resolved: ResolvedPlan, per_day: o.Qty) -> dict[str, o.Qty]:
    out = {}
    for ing in resolved.admixture.ingredients:
        unit = "ug/d" if _is_micro(ing.concentration) else "mg/d"
        out[ing.drug.name] = (ing.concentration * per_day).to(unit)
    return out


def _is_micro(concentration: o.Qty) -> bool:
    return {str(n) for n, _ in concentration.unit_items()} & {"microgram", "mcg"} != set()


def _basal_groups(basal: BasalProgram) -> list[tuple[list[str], Any]]:
    """Weekdays grouped by identical day programs, Monday first."""
    groups: list[tuple[list[str], Any]] = []
    for name, day in zip(WEEKDAYS, basal.days, strict=True):
        for names, program in groups:
            if program == day:
                names.append(name)
                break
        else:
            groups.append(([name], day))
    return groups


def schedule_json(resolved: ResolvedPlan) -> dict[str, Any]:
    s = resolved.schedule
    return {
        "mode": resolved.plan.schedule.mode,
        "basal": [
            {
                "days": names,
                "steps": [
                    {"start": step.start.strftime("%H:%M"), **_rate_json(step.rate, resolved)}
                    for step in day.steps
                ],
            }
            for names, day in _basal_groups(s.basal)
        ],
        "periodic": [
            {
                "volume": o.q(p.volume),
                "every": o.q(p.every),
                "duration": o.q(p.duration),
                "first": o.when(p.first),
                "doses": {k: o.q(v) for k, v in resolved.admixture.doses(p.volume).items()},
            }
            for p in s.periodic
        ],
        "single": [
            {
                "volume": o.q(b.volume),
                "at": o.when(b.at),
                "duration": o.q(b.duration),
                "doses": {k: o.q(v) for k, v in resolved.admixture.doses(b.volume).items()},
            }
            for b in s.single
        ],
    }


def forecast_json(fc: RefillForecast) -> dict[str, Any]:
    return {
        "fill": {
            "volume": o.q(fc.fill.volume),
            "at": o.when(fc.fill.at),
            "first_fill": fc.fill.first_fill,
        },
        "alarm_threshold": o.q(fc.alarm_threshold),
        "alarm_source": fc.alarm_source,
        "margin": o.q(fc.margin),
        "low_alarm_nominal": o.when(fc.low_alarm_nominal),
        "low_alarm_worst": o.when(fc.low_alarm_worst),
        "empty_nominal": o.when(fc.empty_nominal),
        "empty_worst": o.when(fc.empty_worst),
        "refill_by": o.when(fc.refill_by),
        "decided_by": fc.decided_by,
        "candidates": [
            {
                "at": o.when(c.at),
                "kind": c.kind.value,
                "reason": c.reason,
                "source": c.source,
                "level": c.level.value,
                "interval": o.q(c.interval),
                "drug": c.drug,
            }
            for c in fc.candidates
        ],
    }


def report_json(r: Report) -> dict[str, Any]:
    res = r.resolved
    pump = res.pump
    bolus = res.program.patient_bolus
    return {
        "notice": NOT_A_MEDICAL_DEVICE,
        "plan": r.source,
        "title": r.plan.title,
        "at": o.when(r.plan.at),
        "pump": {
            "model": pump.model,
            "kind": pump.kind.value,
            "implanted": pump.implanted,
            "reservoir": o.q(pump.reservoir),
            "low_reservoir_alarm": o.q(pump.low_reservoir_alarm),
        },
        "admixture": [
            {"drug": i.drug.name, "concentration": o.q(i.concentration)}
            for i in res.admixture.ingredients
        ],
        "schedule": schedule_json(res),
        "patient_bolus": None
        if bolus is None
        else {
            "volume": o.q(bolus.volume),
            "doses": {k: o.q(v) for k, v in res.admixture.doses(bolus.volume).items()},
            "duration": o.q(bolus.duration),
            "lockout": o.q(bolus.lockout),
            "max_per_day": bolus.max_per_day,
            "max_count_per_day": bolus.max_count_per_day,
        },
        "daily_dose": {
            "volume": {
                "nominal": o.q(r.dose.nominal_volume),
                "worst_case": o.q(r.dose.worst_case_volume),
            },
            "drugs": {
                name: {
                    "nominal": o.q(r.dose.nominal[name]),
                    "worst_case": o.q(r.dose.worst_case[name]),
                }
                for name in res.admixture.drug_names
            },
        },
        "refill": forecast_json(r.forecast) if r.forecast else None,
        **extras_json(r.extras),
        "findings": o.findings_json(r.findings),
        "blocked": r.blocked,
        "needs_reason": [f.code.value for f in needs_reason(r.findings)],
    }


def check_json(source: str, findings: tuple[Finding, ...]) -> dict[str, Any]:
    return {
        "notice": NOT_A_MEDICAL_DEVICE,
        "plan": source,
        "blocked": blocks(findings),
        "needs_reason": [f.code.value for f in needs_reason(findings)],
        "findings": o.findings_json(findings),
    }


# --- human -----------------------------------------------------------------------------------


def _rate_text(rate: o.Qty, resolved: ResolvedPlan) -> str:
    per_day = rate.to("mL/d")
    shown = (
        fmt(rate.to("mL/h")) + " = " + fmt(per_day) if not resolved.pump.implanted else fmt(per_day)
    )
    doses = ", ".join(f"{k} {fmt(v)}" for k, v in _doses(resolved, per_day).items())
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
    for names, day in _basal_groups(res.schedule.basal):
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
