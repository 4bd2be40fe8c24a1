"""``thecal assess FILE.toml [--json]``: what the decision rules propose for a presentation.

The rules are the shipped ``decision_rules.toml``, then ``$THECAL_DECISION_RULES`` (a path),
then each ``--rules FILE``: institution files that add rules or tighten shipped ones.
"""

import os
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.adapters.data_files import packaged, read_toml
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.decision import (
    CATEGORIES,
    URGENCY_WORDS,
    Assessment,
    Rule,
    assess,
    build_rules,
    presentation_from_mapping,
)

RULES_ENV = "THECAL_DECISION_RULES"
_HEADINGS = {
    "prompts": "Prompts",
    "differential": "Differential (to consider, not a diagnosis)",
    "workup": "Suggested work-up",
    "must_not_miss": "Must not be missed",
}


def load_rules(extra: list[Path] | None = None) -> tuple[Rule, ...]:
    """Shipped rules, then ``$THECAL_DECISION_RULES``, then each ``extra`` file."""
    layers: list[tuple[str, dict[str, Any]]] = [
        ("thecal/data/decision_rules.toml", packaged("decision_rules.toml"))
    ]
    paths = [Path(p) for p in [os.environ.get(RULES_ENV)] if p] + list(extra or [])
    layers += [(str(p), read_toml(p, "rules")) for p in paths]
    return build_rules(layers)


def assessment_json(a: Assessment) -> dict[str, Any]:
    return {"notice": NOT_A_MEDICAL_DEVICE, **a.model_dump()}


def _show(a: Assessment) -> None:
    out = o.console()
    o.notice(out)
    out.print(f"[bold]{escape(a.statement)}[/bold]")
    out.print()
    out.print(f"[bold]Urgency: {URGENCY_WORDS[a.urgency]}[/bold]")
    for f in a.fired:
        why = "; ".join(f.because) or "-"
        out.print(
            f"  {escape(f.id)} {escape(f.title)} ({URGENCY_WORDS[f.urgency]}) because {escape(why)}"
        )
    for category in CATEGORIES:
        items = a.items(category)
        if not items:
            continue
        o.heading(out, _HEADINGS[category])
        for i in items:
            out.print(f"- {escape(i.text)}  [dim]({escape(i.code)}; {', '.join(i.rules)})[/dim]")
            out.print(f"    because: {escape('; '.join(i.because) or '-')}")
            out.print(f"    source: {escape(i.source)}")
            out.print(f"    cut-off: {escape(i.cutoff)}")
    if not a.fired:
        out.print("No rule fired: routine follow-up. This is not an all-clear.")


@handles_errors
def assess_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="presentation (TOML); see docs/decision.md"),
    rules: list[Path] = typer.Option(
        [],
        "--rules",
        metavar="FILE",
        help=f"institution rules (TOML) adding or tightening rules; repeatable. ${RULES_ENV} "
        "is read first.",
    ),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Propose urgency, prompts, differential and work-up for new symptoms or findings."""
    st = o.state(ctx)
    presentation = presentation_from_mapping(read_toml(file, "file"))
    a = assess(presentation, load_rules(rules))
    if st.json or json_out:
        o.emit_json(assessment_json(a))
        return
    _show(a)
