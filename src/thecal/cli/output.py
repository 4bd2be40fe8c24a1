"""Output for the CLI: JSON (UCUM quantities, ISO 8601 times) and human text (Rich).

Every piece of dynamic text is escaped before Rich sees it: finding messages contain square
brackets ("[applies when opioid_naive=true]") that Rich would otherwise read as markup.
"""

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias

import pint
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.cli.state import State as State  # re-exported: commands read o.State
from thecal.cli.state import state as state
from thecal.therapy.findings import Finding, Level
from thecal.units import InputError, fmt, ucum_json

# pint quantities are generic over the magnitude type; the CLI does not care which.
Qty: TypeAlias = pint.Quantity[Any]

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_BLOCKED = 3


def console() -> Console:
    # Created per call so the current sys.stdout is used (CliRunner swaps it).
    return Console(highlight=False, soft_wrap=False)


# --- JSON ----------------------------------------------------------------------------------


def q(value: Qty | None, unit: str | None = None) -> dict[str, Any] | None:
    """``{"value": …, "unit": "<UCUM>"}`` (None stays None)."""
    return None if value is None else ucum_json(value, unit)


def when(t: datetime | None) -> str | None:
    """ISO 8601 (naive device time, as entered)."""
    return None if t is None else t.isoformat()


def findings_json(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return [f.to_json() for f in findings]


def emit_json(data: Mapping[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


# --- errors ----------------------------------------------------------------------------------


def fail(error: InputError, as_json: bool) -> typer.Exit:
    """Print ``error`` as ONE line on stderr (and as a JSON object on stdout with ``--json``)
    and return the exit for invalid input (2)."""
    line = " ".join(str(error).split())  # never more than one line, whatever the message holds
    typer.echo(f"error: {line}", err=True)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "error": {
                        "field": error.field,
                        "message": error.message,
                        "expected": error.expected,
                    }
                },
                ensure_ascii=False,
            )
        )
    return typer.Exit(EXIT_INPUT)


# --- human text ------------------------------------------------------------------------------

_LEVEL_STYLE = {Level.HARD: "bold red", Level.SOFT: "yellow", Level.INFO: "cyan"}
_LEVEL_WORD = {Level.HARD: "HARD", Level.SOFT: "SOFT", Level.INFO: "info"}


def notice(out: Console) -> None:
    out.print(f"[dim]{escape(NOT_A_MEDICAL_DEVICE)}[/dim]")


def heading(out: Console, text: str) -> None:
    out.print()
    out.print(f"[bold]{escape(text)}[/bold]")


def show_findings(out: Console, findings: Sequence[Finding], empty: str = "none") -> None:
    """Each finding: level, code, message, then its source (and limit/value when known)."""
    if not findings:
        out.print(f"  {escape(empty)}")
        return
    for f in findings:
        style = _LEVEL_STYLE[f.level]
        out.print(
            f"  [{style}]{_LEVEL_WORD[f.level]:<4}[/{style}] [bold]{escape(f.code.value)}[/bold]"
            f"  {escape(f.message)}"
        )
        extra = []
        if f.limit is not None:
            extra.append(f"limit {fmt(f.limit)}")
        if f.value is not None:
            extra.append(f"value {fmt(f.value)}")
        if extra:
            out.print(f"       {escape(', '.join(extra))}")
        if f.source:
            out.print(f"       [dim]source: {escape(f.source)}[/dim]")


def verdict(out: Console, findings: Sequence[Finding]) -> None:
    hard = [f for f in findings if f.level is Level.HARD]
    soft = [f for f in findings if f.level is Level.SOFT]
    if hard:
        out.print(
            f"[bold red]REFUSED[/bold red]: {len(hard)} hard finding(s); a hard limit cannot be "
            "overridden."
        )
    elif soft:
        out.print(
            f"[yellow]Needs a reason[/yellow]: {len(soft)} soft finding(s); record a reason for "
            "each before going ahead."
        )
    else:
        out.print("[green]No hard or soft findings.[/green]")


def table(*columns: str) -> Table:
    t = Table(box=None, pad_edge=False, show_header=bool(any(columns)), header_style="bold")
    for c in columns:
        t.add_column(c)
    return t


def stamp(t: datetime | None) -> str:
    return "never (within 10 years)" if t is None else f"{t:%Y-%m-%d %H:%M}"


def dur(duration: Qty) -> str:
    """A duration as a nurse reads it: '10 min', '4 h', '14 d'."""
    h = float(duration.to("h").magnitude)
    if h < 1:
        return fmt(duration.to("min"))
    if h < 48:
        return fmt(duration.to("h"))
    return fmt(duration.to("d"))


def text(value: Any) -> str:
    return escape(str(value))


def err_console() -> Console:
    return Console(file=sys.stderr, highlight=False)
