"""End to end: a virtual implant served on 127.0.0.1 (thread, ephemeral port); the CLI
interrogates, programs (soft finding + reason), records a refill and asks for patient boluses
until refused."""

from pathlib import Path

from typer.testing import CliRunner

from tests.e2e.helpers import PLAN, make_app


def test_cli_against_served_implant(served: tuple[int, Path, Path], tmp_path: Path) -> None:
    port, clinician, patient = served
    app, runner = make_app(), CliRunner()
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
            *reasons,  # the refill goes through the gate: the same soft finding needs a reason
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
