"""The ``thecal`` command: global options, sub-commands, and exit codes.

Exit codes: 0 = done, no hard finding; 3 = a hard finding refuses the proposal; 2 = invalid input
(one line on stderr naming the field). Usage errors from the command line parser are also 2.
"""

from pathlib import Path

import typer

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.cli import clinic, convert, demo, implant, library, plan, programmer, refill, serve, web
from thecal.cli.output import State

app = typer.Typer(
    help="Thecal: intrathecal pump therapy calculations. " + NOT_A_MEDICAL_DEVICE,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
plan_app = typer.Typer(help="Check and show plan files.", no_args_is_help=True)
library_app = typer.Typer(help="Drug library files.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")
app.add_typer(library_app, name="library")
implant_app = typer.Typer(help="Simulate the virtual implant.", no_args_is_help=True)
app.add_typer(implant_app, name="implant")


@app.callback()
def main(
    ctx: typer.Context,
    library_files: list[Path] = typer.Option(
        [],
        "--library",
        metavar="FILE",
        help="institution drug library (TOML) layered over the shipped one; repeatable. "
        "$THECAL_LIBRARY is read first.",
    ),
    json_out: bool = typer.Option(False, "--json", help="machine-readable JSON output"),
) -> None:
    """Thecal: intrathecal pump therapy calculations (reference software)."""
    ctx.obj = State(list(library_files), json_out)


plan_app.command("check")(plan.check_cmd)
plan_app.command("show")(plan.show_cmd)
plan_app.command("schema")(plan.schema_cmd)
library_app.command("check")(library.check_cmd)
app.command("refill")(refill.refill_cmd)
app.command("convert")(convert.convert_cmd)
app.command("demo")(demo.demo_cmd)
app.command("serve")(web.serve_cmd)
implant_app.command("simulate")(implant.simulate_cmd)
implant_app.command("list")(implant.list_cmd)
implant_app.command("provision")(serve.provision_cmd)
implant_app.command("serve")(serve.serve_cmd)
app.add_typer(programmer.programmer_app, name="programmer")
app.add_typer(programmer.ptm_app, name="ptm")
app.add_typer(clinic.db_app, name="db")
app.add_typer(clinic.audit_app, name="audit")
app.add_typer(clinic.clinic_app, name="clinic")


if __name__ == "__main__":
    app()
