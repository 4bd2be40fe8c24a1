"""The ``thecal`` command: global options, sub-commands, and exit codes.

Exit codes: 0 = done, no hard finding; 3 = a hard finding refuses the proposal; 2 = invalid input
(one line on stderr naming the field). Usage errors from the command line parser are also 2.
"""

from pathlib import Path

import typer

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.cli.lazy import Lazy, lazy_group
from thecal.cli.state import State

# Sub-commands are imported when used (see thecal.cli.lazy): `thecal --help` must not import
# pint, SQLAlchemy, FastAPI or matplotlib. Each help line is the command's own first line.
plan_app = typer.Typer(
    help="Check and show plan files.",
    no_args_is_help=True,
    cls=lazy_group(
        {
            "check": Lazy(
                "thecal.cli.plan:check_cmd",
                "Run the safety gate on a plan (the program, and the refill if the plan has a "
                "[fill]).",
            ),
            "show": Lazy(
                "thecal.cli.plan:show_cmd",
                "Show doses, refill dates, bridge/priming boluses and findings of a plan.",
            ),
            "schema": Lazy(
                "thecal.cli.plan:schema_cmd",
                "Print the plan file's JSON Schema (docs/schema/plan.schema.json is this output).",
            ),
        }
    ),
)
library_app = typer.Typer(
    help="Drug library files.",
    no_args_is_help=True,
    cls=lazy_group(
        {
            "check": Lazy(
                "thecal.cli.library:check_cmd",
                "Validate a drug library and report EVERY error with its location "
                "(file: path.in.file).",
            )
        }
    ),
)
implant_app = typer.Typer(
    help="Simulate the virtual implant.",
    no_args_is_help=True,
    cls=lazy_group(
        {
            "simulate": Lazy(
                "thecal.cli.implant:simulate_cmd",
                "Run a scenario on the virtual implant and print the log, final status and "
                "findings.",
            ),
            "list": Lazy(
                "thecal.cli.implant:list_cmd",
                "The scenarios shipped with Thecal (run one with 'thecal implant simulate NAME').",
            ),
            "stimulate": Lazy(
                "thecal.cli.stimulator_sim:stimulate_cmd",
                "Run a stimulator scenario on the virtual IPG: log, impedance tests, final status.",
            ),
            "provision": Lazy(
                "thecal.cli.serve:provision_cmd",
                "Create an implant secret (manufacture) and optionally its role credentials.",
            ),
            "serve": Lazy(
                "thecal.cli.serve:serve_cmd",
                "Run a virtual implant as a telemetry server (simulated clock = wall time × "
                "scale).",
            ),
        }
    ),
)
stimulation_app = typer.Typer(
    help="Spinal cord stimulation programs.",
    no_args_is_help=True,
    cls=lazy_group(
        {
            "check": Lazy(
                "thecal.cli.stimulation:check_cmd",
                "Check a stimulation program: charge per contact, charge density, Shannon k, "
                "findings.",
            ),
            "schema": Lazy(
                "thecal.cli.stimulation:schema_cmd",
                "Print the stimulation program file's JSON Schema "
                "(docs/schema/stimulation.schema.json).",
            ),
        }
    ),
)

app = typer.Typer(
    help="Thecal: intrathecal pump therapy calculations. " + NOT_A_MEDICAL_DEVICE,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=lazy_group(
        {
            "refill": Lazy(
                "thecal.cli.refill:refill_cmd",
                "Refill workflow: expected volume, discrepancy, new fill, next refill dates.",
            ),
            "convert": Lazy(
                "thecal.cli.convert:convert_cmd",
                "Estimate an equivalent dose RANGE between routes or drugs (an estimate only).",
            ),
            "assess": Lazy(
                "thecal.cli.assess:assess_cmd",
                "Propose urgency, prompts, differential and work-up for new symptoms or findings.",
            ),
            "demo": Lazy(
                "thecal.cli.demo:demo_cmd",
                "Print the seed cases' calculations from the shipped example plans.",
            ),
            "serve": Lazy(
                "thecal.cli.web:serve_cmd",
                "Run the clinic web app (and /api/v1) — not a certified medical device.",
            ),
            "plan": Lazy(plan_app, "Check and show plan files."),
            "library": Lazy(library_app, "Drug library files."),
            "implant": Lazy(implant_app, "Simulate the virtual implant."),
            "stimulation": Lazy(stimulation_app, "Spinal cord stimulation programs."),
            "programmer": Lazy(
                "thecal.cli.programmer:programmer_app", "Clinician programmer (telemetry link)."
            ),
            "ptm": Lazy("thecal.cli.programmer:ptm_app", "Patient controller (telemetry link)."),
            "remote": Lazy(
                "thecal.cli.remote:remote_app", "Patient remote for a stimulator (telemetry link)."
            ),
            "db": Lazy("thecal.cli.clinic:db_app", "The clinic database."),
            "audit": Lazy("thecal.cli.clinic:audit_app", "The audit log of every write."),
            "clinic": Lazy("thecal.cli.clinic:clinic_app", "Clinic registry and refill calendar."),
            "export": Lazy(
                "thecal.cli.export:export_app", "Export the clinic record in standard formats."
            ),
            "import": Lazy(
                "thecal.cli.import_fhir:import_app", "Import records in standard formats."
            ),
            "report": Lazy(
                "thecal.cli.report:report_app", "PDF reports (not a certified medical device)."
            ),
        }
    ),
)


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


if __name__ == "__main__":
    app()
