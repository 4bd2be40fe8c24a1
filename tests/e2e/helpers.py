"""Shared by the end-to-end tests: a plan for the served implant and a CLI app with the
programmer, patient-controller and provision commands."""

import typer

from thecal.cli.output import State
from thecal.cli.programmer import programmer_app, ptm_app
from thecal.cli.serve import provision_cmd

PLAN = """
at = 2024-01-01T08:00:00
{patient}
[pump]
model = "SynchroMed II 8637-40"
low_reservoir_alarm = "2 mL"
[[admixture]]
drug = "morphine"
concentration = "10 mg/mL"
[schedule]
mode = "continuous"
dose = "{dose}"
drug = "morphine"
[patient_bolus]
dose = "0.2 mg"
duration = "10 min"
lockout = "4 h"
max_per_day = 2
[fill]
volume = "20 mL"
at = 2024-01-01T08:00:00
"""


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = State([], False)

    app.add_typer(programmer_app, name="programmer")
    app.add_typer(ptm_app, name="ptm")
    app.command("provision")(provision_cmd)
    return app
