"""End to end: a virtual IPG served on 127.0.0.1 from a shipped stimulator scenario (thread,
ephemeral port, provisioned keys); the clinician CLI interrogates, tests impedances, writes a
group from a stimulation program file and sets an amplitude; the patient remote reads its
status, steps the amplitude within the clinician's range until refused, and cannot program."""

import json
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.e2e.helpers import make_app
from thecal.adapters.stimulator_server import (
    is_stimulator_scenario,
    make_stimulator_server,
    stimulator_from_scenario,
)
from thecal.cli.remote import remote_app
from thecal.implant.stimulator_device import SimulatedStimulator
from thecal.link.keystore import read_key_file
from thecal.link.transport import TcpListener
from thecal.units import Q_

SCENARIO = "rechargeable-stops-charging.toml"  # OpenNerve IPG, group A: area 'back'
EXAMPLE = "opennerve-tonic-and-burst.toml"


def _data(*parts: str) -> Path:
    return Path(str(resources.files("thecal.data").joinpath(*parts)))


@pytest.fixture
def served_ipg(tmp_path: Path) -> Iterator[tuple[int, Path, Path, SimulatedStimulator]]:
    runner, app = CliRunner(), make_app()
    keys = [tmp_path / n for n in ("implant.key", "clinician.key", "remote.key")]
    res = runner.invoke(
        app,
        [
            "provision", "--serial", "E2E-IPG", "--out", str(keys[0]),
            "--clinician-key", str(keys[1]), "--remote-key", str(keys[2]),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    source = _data("scenarios", "stimulator", SCENARIO)
    assert is_stimulator_scenario(source)
    dev = stimulator_from_scenario(source, "E2E-IPG")
    secret = read_key_file(keys[0], "implant")
    server = make_stimulator_server(dev, secret.key, Q_(60, "s"))  # test input: staleness
    listener = TcpListener(0)
    thread = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    try:
        yield listener.port, keys[1], keys[2], dev
    finally:
        server.stop.set()
        thread.join(timeout=5)
        listener.close()
        assert not thread.is_alive()


def test_cli_against_a_served_stimulator(
    served_ipg: tuple[int, Path, Path, SimulatedStimulator],
) -> None:
    port, clinician, remote, dev = served_ipg
    app, runner = make_app(), CliRunner()
    app.add_typer(remote_app, name="remote")
    common = ["--port", str(port), "--ack-timeout", "3"]
    scs = ["programmer", "scs"]
    res = runner.invoke(app, [*scs, "interrogate", *common, "--key", str(clinician)])
    assert res.exit_code == 0, res.output
    assert "E2E-IPG" in res.output and "therapy: stimulating" in res.output

    res = runner.invoke(app, [*scs, "interrogate", *common, "--key", str(clinician), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["status"]["family"] == "spinal cord stimulator" and doc["status"]["group"] == "A"

    res = runner.invoke(app, [*scs, "impedance", *common, "--key", str(clinician)])
    assert res.exit_code == 0, res.output
    assert "L1:0" in res.output and "safe maximum" in res.output

    example = str(_data("examples", "stimulation", EXAMPLE))
    res = runner.invoke(
        app, [*scs, "write", example, "--group", "C", *common, "--key", str(clinician)]
    )
    assert res.exit_code == 0, res.output
    assert "written and verified" in res.output and "C" in dev.firmware.groups

    res = runner.invoke(app, [*scs, "group", "C", *common, "--key", str(clinician)])
    assert res.exit_code == 0, res.output
    # Group C's 'low back' area runs at 5 mA; the patient may set 2 to 5 mA (the example).
    res = runner.invoke(
        app, [*scs, "amplitude", "low back", "4 mA", *common, "--key", str(clinician)]
    )
    assert res.exit_code == 0, res.output

    rem = ["remote"]
    res = runner.invoke(app, [*rem, "status", *common, "--key", str(remote)])
    assert res.exit_code == 0, res.output
    assert "low back: 4 mA" in res.output and "2 mA to 5 mA" in res.output
    up = [*rem, "up", "--step", "0.5 mA", "--area", "low back", *common, "--key", str(remote)]
    assert runner.invoke(app, up).exit_code == 0  # 4.5 mA
    assert runner.invoke(app, up).exit_code == 0  # 5.0 mA: the top itself
    over = runner.invoke(app, up)  # 5.5 mA: refused by the IPG
    assert over.exit_code == 3 and "outside-patient-range" in over.output
    amps = dict(dev.interrogate().amplitudes)
    assert float(amps["low back"].to("mA").magnitude) == pytest.approx(5.0)

    # The remote's key may not program, test impedances or interrogate.
    for args in (
        [*scs, "write", example, "--group", "D"],
        [*scs, "impedance"],
        [*scs, "interrogate"],
    ):
        res = runner.invoke(app, [*args, *common, "--key", str(remote)])
        assert res.exit_code != 0, args
    assert "D" not in dev.firmware.groups
    assert runner.invoke(app, [*rem, "off", *common, "--key", str(remote)]).exit_code == 0
    assert not dev.interrogate().stimulating


def test_implant_serve_recognises_a_stimulator_scenario(tmp_path: Path) -> None:
    from thecal.cli.serve import serve_cmd

    runner, app = CliRunner(), make_app()
    app.command("serve")(serve_cmd)
    key = tmp_path / "implant.key"
    res = runner.invoke(app, ["provision", "--serial", "IPG-9", "--out", str(key)])
    assert res.exit_code == 0, res.output
    source = str(_data("scenarios", "stimulator", SCENARIO))
    # --max-connections 0: build the IPG, listen, and stop before accepting anyone.
    res = runner.invoke(
        app, ["serve", source, "--port", "0", "--key", str(key), "--max-connections", "0"]
    )
    assert res.exit_code == 0, res.output
    assert "implant IPG-9 listening on 127.0.0.1:" in res.output


def test_cli_switches_and_refusals_exit_codes(
    served_ipg: tuple[int, Path, Path, SimulatedStimulator], tmp_path: Path
) -> None:
    """Every clinician command goes through one connect-and-send helper: done, unchanged,
    refused by the IPG and refused by the link each keep their exit code and output."""
    port, clinician, remote, dev = served_ipg
    app, runner = make_app(), CliRunner()
    common = ["--port", str(port), "--ack-timeout", "3"]
    scs = ["programmer", "scs"]
    res = runner.invoke(app, [*scs, "stimulation", "off", *common, "--key", str(clinician)])
    assert res.exit_code == 0 and "stimulation off" in res.output, res.output
    assert not dev.interrogate().stimulating
    res = runner.invoke(app, [*scs, "stimulation", "off", *common, "--key", str(clinician)])
    assert res.exit_code == 0 and res.output == "unchanged\n", res.output
    res = runner.invoke(app, [*scs, "stimulation", "on", *common, "--key", str(clinician)])
    assert res.exit_code == 0 and "stimulation on" in res.output, res.output
    res = runner.invoke(app, [*scs, "group", "Z", *common, "--key", str(clinician)])
    assert res.exit_code == 3 and "refused: unknown-group: no group called 'Z'" in res.output
    res = runner.invoke(app, [*scs, "mri", "on", *common, "--key", str(clinician)])
    assert res.exit_code == 3 and "refused: unsupported: no MRI mode" in res.output
    res = runner.invoke(app, [*scs, "stimulation", "sideways", *common, "--key", str(clinician)])
    assert res.exit_code == 2 and "state" in res.output, res.output
    # The remote's key for a clinician command: refused before connecting (exit 2).
    res = runner.invoke(app, [*scs, "stimulation", "off", *common, "--key", str(remote)])
    assert res.exit_code == 2 and "holds a remote key, expected clinician" in res.output
    # A clinician key of another implant with this serial: the link refuses it (exit 3).
    keys = [tmp_path / n for n in ("other-implant.key", "other-clinician.key")]
    res = runner.invoke(app, ["provision", "--serial", "E2E-IPG", "--out", str(keys[0]),
                              "--clinician-key", str(keys[1])])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, [*scs, "stimulation", "off", *common, "--key", str(keys[1])])
    assert res.exit_code == 3 and "refused: BAD_TAG" in res.output, res.output
    assert dev.interrogate().stimulating
