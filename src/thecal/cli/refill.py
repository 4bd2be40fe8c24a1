"""``thecal refill PLAN``: the refill workflow numbers from the plan's [refill] section.

Expected remaining volume (exact integral of the schedule that ran since the last fill, plus the
boluses the pump reported), the withdrawn volume and the discrepancy with its findings, the new
fill through the safety gate, and the next refill dates.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.plan import (
    PLAN_ARG,
    forecast_json,
    gate,
    refill_forecast,
    render_forecast,
    resolve_file,
)
from thecal.therapy.delivery import ReportedBolus
from thecal.therapy.findings import Finding, blocks, needs_reason, ordered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan
from thecal.therapy.proposal import RefillProposal
from thecal.therapy.refill_dates import RefillForecast
from thecal.therapy.refill_discrepancy import RefillCheck, assess_refill
from thecal.therapy.reservoir import ExpectedVolume, Fill, expected_volume
from thecal.therapy.safety_gate import check
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity


@dataclass
class RefillReport:
    source: str
    resolved: ResolvedPlan
    last_fill: Fill
    expected: ExpectedVolume
    withdrawn: o.Qty
    filled: o.Qty | None
    confirmed: o.Qty | None
    check: RefillCheck
    new_fill: Fill | None
    forecast: RefillForecast | None
    findings: tuple[Finding, ...]


def _vol(text: str | None, field: str) -> o.Qty | None:
    return None if text is None else parse_quantity(text, field, Dimension.VOLUME).to("mL")


def build_refill(
    source: str,
    resolved: ResolvedPlan,
    library: DrugLibrary,
    withdrawn: str | None = None,
    filled: str | None = None,
    confirmed: str | None = None,
) -> RefillReport:
    """The refill numbers at ``plan.at`` (the time of the refill). Options override [refill]."""
    plan = resolved.plan
    entry = plan.refill
    if entry is None:
        raise InputError(
            "refill", "the plan has no [refill] section", "[refill] with withdrawn and last_fill"
        )
    last = Fill(
        parse_quantity(entry.last_fill.volume, "refill.last_fill.volume", Dimension.VOLUME).to(
            "mL"
        ),
        entry.last_fill.at,
        entry.last_fill.first_fill,
    )
    if last.at > plan.at:
        raise InputError(
            "refill.last_fill.at",
            f"{last.at:%Y-%m-%d %H:%M} is after the refill ({plan.at:%Y-%m-%d %H:%M})",
            "the time of the previous fill, before 'at'",
        )
    # Since the last fill the previous program ran, when the plan changes it at this refill.
    ran = resolved.program.previous.schedule if resolved.program.previous else resolved.schedule
    reported = tuple(
        ReportedBolus(
            b.at,
            parse_quantity(b.volume, f"refill.reported_boluses[{i}].volume", Dimension.VOLUME),
        )
        for i, b in enumerate(entry.reported_boluses)
    )
    expected = expected_volume(last, ran, plan.at, reported)
    out = _vol(withdrawn, "withdrawn") or _vol(entry.withdrawn, "refill.withdrawn")
    assert out is not None  # the plan model requires refill.withdrawn
    injected = _vol(filled, "filled") or _vol(entry.filled, "refill.filled")
    confirmed_q = _vol(confirmed, "confirmed") or _vol(
        entry.confirmed_after_fill, "refill.confirmed_after_fill"
    )
    result = assess_refill(
        expected.volume,
        out,
        expected.delivered,
        resolved.pump,
        library.settings,
        injected,
        confirmed_q,
    )
    new_fill = resolved.fill
    if new_fill is None and injected is not None:
        new_fill = Fill(injected, plan.at)
    fc: RefillForecast | None = None
    if new_fill is not None:
        proposal = resolved.refill_proposal or RefillProposal(
            resolved.program,
            new_fill,
            plan.next_refill,
            _vol(plan.pump.low_reservoir_alarm, "pump.low_reservoir_alarm"),
        )
        gate_findings = list(check(proposal, library).findings) + list(resolved.rounding)
        fc = refill_forecast(resolved, library, replace(proposal, fill=new_fill, reported=()))
    else:
        gate_findings = list(gate(resolved, library))
    findings = ordered(_dedupe([*result.findings, *gate_findings]))
    return RefillReport(
        source, resolved, last, expected, out, injected, confirmed_q, result, new_fill, fc, findings
    )


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, str | None]] = set()
    out = []
    for f in findings:
        key = (f.code.value, f.message, f.drug)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def refill_json(r: RefillReport) -> dict[str, Any]:
    c = r.check
    return {
        "notice": NOT_A_MEDICAL_DEVICE,
        "plan": r.source,
        "at": o.when(r.resolved.plan.at),
        "last_fill": {
            "volume": o.q(r.last_fill.volume),
            "at": o.when(r.last_fill.at),
            "first_fill": r.last_fill.first_fill,
        },
        "expected_remaining": o.q(r.expected.volume),
        "delivered_expected": o.q(r.expected.delivered),
        "programmed_since_fill": o.q(r.expected.programmed),
        "ran_empty_at": o.when(r.expected.ran_empty_at),
        "withdrawn": o.q(r.withdrawn),
        "discrepancy": o.q(c.discrepancy),
        "actual_delivered": o.q(c.actual_delivered),
        "delivery_error": None
        if c.delivery_error_percent is None
        else o.q(Q_(c.delivery_error_percent, "percent")),
        "filled": o.q(r.filled),
        "confirmed_after_fill": o.q(r.confirmed),
        "unaccounted_after_fill": o.q(c.unaccounted_after_fill),
        "new_fill": None
        if r.new_fill is None
        else {
            "volume": o.q(r.new_fill.volume),
            "at": o.when(r.new_fill.at),
            "first_fill": r.new_fill.first_fill,
        },
        "next_refill": forecast_json(r.forecast) if r.forecast else None,
        "findings": o.findings_json(r.findings),
        "blocked": blocks(r.findings),
        "needs_reason": [f.code.value for f in needs_reason(r.findings)],
    }


def _stamp(t: datetime | None) -> str:
    return o.stamp(t)


def render_refill(r: RefillReport, notice: bool = True) -> None:
    out = o.console()
    plan = r.resolved.plan
    out.print(f"[bold]{o.text(plan.title or r.source)}[/bold]")
    if notice:
        o.notice(out)
    o.heading(out, f"Refill at {_stamp(plan.at)} ({r.resolved.pump.model})")
    t = o.table("", "")
    t.add_row("last fill", f"{fmt(r.last_fill.volume)} at {_stamp(r.last_fill.at)}")
    t.add_row("delivered since (expected)", fmt(r.expected.delivered))
    t.add_row("expected remaining", fmt(r.expected.volume))
    t.add_row("withdrawn", fmt(r.withdrawn))
    sign = "more" if r.check.discrepancy.magnitude > 0 else "less"
    t.add_row(
        "discrepancy",
        f"{r.check.discrepancy.magnitude:+.4g} mL ({sign} left than expected)"
        if r.check.discrepancy.magnitude
        else "0 mL",
    )
    t.add_row("actual delivered", fmt(r.check.actual_delivered))
    if r.check.delivery_error_percent is not None:
        t.add_row("delivery error", f"{r.check.delivery_error_percent:+.1f} %")
    if r.filled is not None:
        t.add_row("filled", fmt(r.filled))
    if r.confirmed is not None:
        t.add_row("confirmed after fill", fmt(r.confirmed))
    if r.check.unaccounted_after_fill is not None:
        t.add_row("unaccounted after fill", fmt(r.check.unaccounted_after_fill))
    out.print(t)
    if r.expected.ran_empty_at is not None:
        out.print(
            f"  [bold red]The reservoir was expected to run EMPTY at "
            f"{_stamp(r.expected.ran_empty_at)}[/bold red]: delivery stopped; opioid tolerance "
            "may be lost. Add an [interruption] to the plan so the restart is checked."
        )
    if r.forecast is not None:
        render_forecast(out, r.forecast, "Next refill")
    o.heading(out, "Findings")
    o.show_findings(out, r.findings)
    out.print()
    o.verdict(out, r.findings)


@handles_errors
def refill_cmd(
    ctx: typer.Context,
    plan: Path = PLAN_ARG,
    withdrawn: str | None = typer.Option(
        None, help="volume withdrawn, e.g. '1.6 mL' (overrides refill.withdrawn)"
    ),
    filled: str | None = typer.Option(
        None, help="volume injected, e.g. '20 mL' (overrides refill.filled)"
    ),
    confirmed: str | None = typer.Option(
        None, help="volume confirmed after filling (overrides refill.confirmed_after_fill)"
    ),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Refill workflow: expected volume, discrepancy, new fill, next refill dates.

    Uses the plan's [refill] section; the refill happens at the plan's 'at'.

    Exit 0: no hard finding; 3: a hard finding (e.g. possible pocket fill); 2: invalid input."""
    st = o.state(ctx)
    resolved, library = resolve_file(plan, st.library)
    report = build_refill(str(plan), resolved, library, withdrawn, filled, confirmed)
    if st.json or json_out:
        o.emit_json(refill_json(report))
    else:
        render_refill(report)
    if blocks(report.findings):
        raise typer.Exit(o.EXIT_BLOCKED)
