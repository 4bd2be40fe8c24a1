"""``thecal demo``: the seed cases' calculations, from the example plans shipped in the package."""

import typer

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.adapters.data_files import example_names, example_plan, load_catalog, load_library
from thecal.adapters.plan_files import parse_plan
from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.plan import build_report, render, report_json
from thecal.cli.refill import build_refill, refill_json, render_refill
from thecal.therapy.plan import resolve


@handles_errors
def demo_cmd(ctx: typer.Context) -> None:
    """Print the seed cases' calculations from the shipped example plans.

    Always exits 0: a refused example is part of the demonstration."""
    st = o.state(ctx)
    library = load_library(st.library)
    catalog = load_catalog()
    results = []
    out = o.console()
    if not st.json:
        out.rule("[bold]Thecal demo[/bold]")
        o.notice(out)
    # Seed cases first (what `make run` is for), then the other examples.
    names = sorted(example_names(), key=lambda n: (not n.startswith("seed"), n))
    for name in names:
        resolved = resolve(parse_plan(example_plan(name)).to_typed(), library, catalog)
        source = f"thecal/data/examples/{name}"
        if resolved.plan.refill is not None:
            refill = build_refill(source, resolved, library)
            if st.json:
                results.append(refill_json(refill))
            else:
                out.print()
                out.rule(o.text(name))
                render_refill(refill, notice=False)
            continue
        report = build_report(source, resolved, library)
        if st.json:
            results.append(report_json(report))
        else:
            out.print()
            out.rule(o.text(name))
            render(out, report, notice=False)
    if st.json:
        o.emit_json({"notice": NOT_A_MEDICAL_DEVICE, "examples": results})
