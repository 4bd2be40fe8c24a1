"""``thecal convert DOSE --from ROUTE --to ROUTE``: an ESTIMATED dose range between routes or
drugs, with the sourced ratios behind it. Never one number to program."""

from typing import Any

import typer

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.adapters.data_files import load_conversions
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.therapy.conversion import ConversionEstimate, convert
from thecal.units import Dimension, InputError, fmt, parse_quantity

# The core names its parameters; on the command line they are options.
_OPTION_NAMES = {
    "dose": "DOSE",
    "from_route": "--from",
    "to_route": "--to",
    "drug": "--drug",
    "to_drug": "--to-drug",
}


def estimate(
    dose: str, from_route: str, to_route: str, drug: str, to_drug: str | None
) -> ConversionEstimate:
    """Parse ``dose`` (a dose rate with its time base) and convert with the shipped table."""
    quantity = parse_quantity(dose, "dose", Dimension.DOSE_RATE)
    try:
        return convert(quantity, from_route, to_route, drug, to_drug, load_conversions())
    except InputError as exc:
        raise InputError(
            _OPTION_NAMES.get(exc.field, exc.field), exc.message, exc.expected
        ) from exc


def estimate_json(e: ConversionEstimate) -> dict[str, Any]:
    return {
        "notice": NOT_A_MEDICAL_DEVICE,
        "estimate": True,
        "summary": e.summary,
        "dose": o.q(e.dose),
        "from": {"route": e.from_route, "drug": e.from_drug},
        "to": {"route": e.to_route, "drug": e.to_drug},
        "low": o.q(e.low),
        "high": o.q(e.high),
        "paths": [
            {"description": p.describe(), "low": o.q(p.low), "high": o.q(p.high)} for p in e.paths
        ],
        "ratios": [
            {"description": r.describe(), "source": r.source, "note": r.note} for r in e.ratios
        ],
    }


@handles_errors
def convert_cmd(
    ctx: typer.Context,
    dose: str = typer.Argument(
        ..., help="dose rate with its time base, e.g. '60 mg/d'", show_default=False
    ),
    from_route: str = typer.Option(..., "--from", help="route of DOSE: oral, iv, epidural, it"),
    to_route: str = typer.Option(..., "--to", help="route to estimate"),
    drug: str = typer.Option("morphine", "--drug", help="drug of DOSE"),
    to_drug: str | None = typer.Option(None, "--to-drug", help="drug to estimate (default: same)"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Estimate an equivalent dose RANGE between routes or drugs (an estimate only).

    Routes: oral, IV, epidural, intrathecal; drugs: morphine, hydromorphone (intrathecal)."""
    st = o.state(ctx)
    e = estimate(dose, from_route, to_route, drug, to_drug)
    if st.json or json_out:
        o.emit_json(estimate_json(e))
        return
    out = o.console()
    o.notice(out)
    out.print()
    out.print(
        f"[bold]Estimate: {fmt(e.low, 3)} to {fmt(e.high, 3)} {o.text(e.to_route)} "
        f"{o.text(e.to_drug)}[/bold]  (from {fmt(e.dose)} {o.text(e.from_route)} "
        f"{o.text(e.from_drug)})"
    )
    out.print(o.text(e.summary))
    o.heading(out, "Conversion paths")
    for p in e.paths:
        span = (
            fmt(p.low, 3)
            if fmt(p.low, 3) == fmt(p.high, 3)
            else (f"{fmt(p.low, 3)} to {fmt(p.high, 3)}")
        )
        out.print(f"  {span}: {o.text(p.describe())}")
    o.heading(out, "Sources")
    for r in e.ratios:
        note = f" ({r.note})" if r.note else ""
        out.print(f"  {o.text(r.describe() + note)}")
        out.print(f"    [dim]{o.text(r.source)}[/dim]")
