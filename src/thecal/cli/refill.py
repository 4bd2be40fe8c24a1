"""``thecal refill PLAN``: the refill workflow numbers from the plan's [refill] section.

The command builds a refill proposal from the plan and renders the one refill assessment
(:func:`thecal.therapy.refill_assessment.assess_refill`): expected remaining volume and what it
was computed from, the discrepancy with its findings, the new fill's program and fill checks,
and the next refill dates. It computes none of these itself.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.plan import PLAN_ARG, forecast_json, render_forecast, resolve_file
from thecal.therapy.delivery import ReportedBolus
from thecal.therapy.findings import Finding, blocks, needs_reason, ordered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan
from thecal.therapy.proposal import RefillProposal
from thecal.therapy.refill_assessment import ExpectedResidual, RefillAssessment, assess_refill
from thecal.therapy.refill_discrepancy import RefillCheck
from thecal.therapy.reservoir import Fill
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity


@dataclass
class RefillReport:
    """What ``thecal refill`` shows: the one refill assessment, plus the plan's rate-rounding
    notes in ``findings``."""

    source: str
    resolved: ResolvedPlan
    assessment: RefillAssessment
    findings: tuple[Finding, ...]

    @property
    def expected(self) -> ExpectedResidual:
        assert self.assessment.expected is not None  # the [refill] section has a last fill
        return self.assessment.expected

    @property
    def check(self) -> RefillCheck:
        assert self.assessment.discrepancy is not None  # and a withdrawn volume
        return self.assessment.discrepancy


def _vol(text: str | o.Qty | None, field: str) -> o.Qty | None:
    return None if text is None else parse_quantity(text, field, Dimension.VOLUME).to("mL")


def _first(*values: o.Qty | None) -> o.Qty | None:
    # Not `a or b`: a volume of 0 mL is falsy but entered.
    return next((v for v in values if v is not None), None)


def build_refill(
    source: str,
    resolved: ResolvedPlan,
    library: DrugLibrary,
    withdrawn: str | None = None,
    filled: str | None = None,
    confirmed: str | None = None,
) -> RefillReport:
    """The refill at ``plan.at`` (the time of the refill), assessed by
    :func:`~thecal.therapy.refill_assessment.assess_refill`. Options override [refill]."""
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
    reported = tuple(
        ReportedBolus(
            b.at,
            parse_quantity(b.volume, f"refill.reported_boluses[{i}].volume", Dimension.VOLUME),
        )
        for i, b in enumerate(entry.reported_boluses)
    )
    out = _first(_vol(withdrawn, "withdrawn"), _vol(entry.withdrawn, "refill.withdrawn"))
    injected = _first(_vol(filled, "filled"), _vol(entry.filled, "refill.filled"))
    confirmed_q = _first(
        _vol(confirmed, "confirmed"),
        _vol(entry.confirmed_after_fill, "refill.confirmed_after_fill"),
    )
    new_fill = resolved.fill
    if new_fill is None and injected is not None:
        new_fill = Fill(injected, plan.at)
    if new_fill is None:
        raise InputError(
            "refill.filled", "the refill has no new fill", "refill.filled or a [fill] section"
        )
    base = resolved.refill_proposal or RefillProposal(
        resolved.program, new_fill, plan.next_refill, resolved.alarm_threshold
    )
    proposal = replace(
        base, fill=new_fill, reported=reported, last_fill=last, withdrawn=out,
        filled=injected, confirmed_after_fill=confirmed_q,
    )  # fmt: skip
    assessment = assess_refill(proposal, library)
    findings = ordered(_dedupe([*assessment.findings, *resolved.rounding]))
    return RefillReport(source, resolved, assessment, findings)


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
    a, c, e = r.assessment, r.check, r.expected
    p = a.proposal
    return {
        "notice": NOT_A_MEDICAL_DEVICE,
        "plan": r.source,
        "at": o.when(r.resolved.plan.at),
        "last_fill": {
            "volume": o.q(e.last_fill.volume),
            "at": o.when(e.last_fill.at),
            "first_fill": e.last_fill.first_fill,
        },
        "expected_remaining": o.q(e.volume),
        "expected_from": e.basis,
        "delivered_expected": o.q(e.delivered),
        "programmed_since_fill": o.q(e.programmed),
        "ran_empty_at": o.when(e.ran_empty_at),
        "withdrawn": o.q(p.withdrawn),
        "discrepancy": o.q(c.discrepancy),
        "actual_delivered": o.q(c.actual_delivered),
        "delivery_error": None
        if c.delivery_error_percent is None
        else o.q(Q_(c.delivery_error_percent, "percent")),
        "filled": o.q(p.filled),
        "confirmed_after_fill": o.q(p.confirmed_after_fill),
        "unaccounted_after_fill": o.q(c.unaccounted_after_fill),
        "reservoir_capacity": o.q(a.capacity),
        "new_fill": {
            "volume": o.q(p.fill.volume),
            "at": o.when(p.fill.at),
            "first_fill": p.fill.first_fill,
        },
        "next_refill": forecast_json(a.forecast) if a.forecast else None,
        "findings": o.findings_json(r.findings),
        "blocked": blocks(r.findings),
        "needs_reason": [f.code.value for f in needs_reason(r.findings)],
    }


def _stamp(t: datetime | None) -> str:
    return o.stamp(t)


def render_refill(r: RefillReport, notice: bool = True) -> None:
    out = o.console()
    plan = r.resolved.plan
    a, c, e = r.assessment, r.check, r.expected
    p = a.proposal
    out.print(f"[bold]{o.text(plan.title or r.source)}[/bold]")
    if notice:
        o.notice(out)
    o.heading(out, f"Refill at {_stamp(plan.at)} ({r.resolved.pump.model})")
    t = o.table("", "")
    t.add_row("last fill", f"{fmt(e.last_fill.volume)} at {_stamp(e.last_fill.at)}")
    t.add_row("delivered since (expected)", fmt(e.delivered))
    t.add_row("expected remaining", fmt(e.volume))
    t.add_row("  computed from", o.text(e.basis))
    if p.withdrawn is not None:
        t.add_row("withdrawn", fmt(p.withdrawn))
    sign = "more" if c.discrepancy.magnitude > 0 else "less"
    t.add_row(
        "discrepancy",
        f"{c.discrepancy.magnitude:+.4g} mL ({sign} left than expected)"
        if c.discrepancy.magnitude
        else "0 mL",
    )
    t.add_row("actual delivered", fmt(c.actual_delivered))
    if c.delivery_error_percent is not None:
        t.add_row("delivery error", f"{c.delivery_error_percent:+.1f} %")
    if p.filled is not None:
        t.add_row("filled", fmt(p.filled))
    if p.confirmed_after_fill is not None:
        t.add_row("confirmed after fill", fmt(p.confirmed_after_fill))
    if c.unaccounted_after_fill is not None:
        t.add_row("unaccounted after fill", fmt(c.unaccounted_after_fill))
    out.print(t)
    if e.ran_empty_at is not None:
        out.print(
            f"  [bold red]The reservoir was expected to run EMPTY at "
            f"{_stamp(e.ran_empty_at)}[/bold red]: delivery stopped; opioid tolerance "
            "may be lost. Add an [interruption] to the plan so the restart is checked."
        )
    if a.forecast is not None:
        render_forecast(out, a.forecast, "Next refill")
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
