"""End to end: a virtual implant served on 127.0.0.1 (thread, ephemeral port); the CLI
interrogates, programs (soft finding + reason), records a refill and asks for patient boluses
until refused."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.implant_server import DeviceInputs, implant_from_plan, load_source, make_server
from thecal.cli.output import State
from thecal.cli.programmer import programmer_app, ptm_app
from thecal.cli.serve import provision_cmd
from thecal.link.keystore import read_key_file
from thecal.link.transport import TcpListener
from thecal.units import Q_

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


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = State([], False)

    app.add_typer(programmer_app, name="programmer")
    app.add_typer(ptm_app, name="ptm")
    app.command("provision")(provision_cmd)
    return app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    runner = CliRunner()
    app = _app()
    keys = [tmp_path / n for n in ("implant.key", "clinician.key", "patient.key")]
    res = runner.invoke(
        app,
        [
            "provision",
            "--serial",
            "E2E-1",
            "--out",
            str(keys[0]),
            "--clinician-key",
            str(keys[1]),
            "--patient-key",
            str(keys[2]),
        ],
    )
    assert res.exit_code == 0, res.output
    plan_path = tmp_path / "plan.toml"
    plan_path.write_text(PLAN.format(dose="1 mg/d", patient="[patient]\nopioid_naive = false"))
    library, catalog = load_library(), load_catalog()
    plan, _ = load_source(plan_path)
    # Test inputs (not public): SynchroMed stroke volume and critical alarm repeat.
    pump = implant_from_plan(
        plan, library, catalog, DeviceInputs("E2E-1", Q_(10, "min"), Q_(0.001, "mL"))
    )
    secret = read_key_file(keys[0], "implant")
    server = make_server(pump, library, secret.key, Q_(60, "s"))
    listener = TcpListener(0)
    thread = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    try:
        yield listener.port, keys[1], keys[2]
    finally:
        server.stop.set()
        thread.join(timeout=5)
        listener.close()
        assert not thread.is_alive()


def test_cli_against_served_implant(served: tuple[int, Path, Path], tmp_path: Path) -> None:
    port, clinician, patient = served
    app, runner = _app(), CliRunner()
    common = ["--port", str(port), "--ack-timeout", "3"]
    res = runner.invoke(app, ["programmer", "interrogate", *common, "--key", str(clinician)])
    assert res.exit_code == 0, res.output
    assert "E2E-1" in res.output and "delivering: yes" in res.output

    # The new plan does not record the opioid status: a patient bolus of an opioid is then a
    # soft finding (PTB-OPIOID-STATUS-UNKNOWN) that needs a reason.
    new_plan = tmp_path / "new.toml"
    new_plan.write_text(PLAN.format(dose="1.5 mg/d", patient=""))
    args = ["programmer", "program", str(new_plan), *common, "--key", str(clinician), "--yes"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 3, refused.output  # soft finding without a reason
    assert "PTB-OPIOID-STATUS-UNKNOWN" in refused.output
    soft = ["PTB-OPIOID-STATUS-UNKNOWN"]
    reasons = [x for c in soft for x in ("--reason", f"{c}=planned titration, reviewed")]
    res = runner.invoke(app, [*args, *reasons])
    assert res.exit_code == 0, res.output
    assert "verified" in res.output

    res = runner.invoke(
        app,
        [
            "programmer",
            "refill",
            *common,
            "--key",
            str(clinician),
            "--withdrawn",
            "20 mL",
            "--fill",
            "20 mL",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "next refill by" in res.output

    ptm = ["ptm", "bolus", *common, "--key", str(patient)]
    first = runner.invoke(app, ptm)
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ptm)
    assert second.exit_code == 3 and "lockout" in second.output
    # The patient key may not program.
    res = runner.invoke(app, ["programmer", "interrogate", *common, "--key", str(patient)])
    assert res.exit_code != 0
