"""``thecal stimulation check|schema``: output, --json, exit codes 0 / 3 / 2, lazy loading."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import Result

from thecal.cli.main import app
from thecal.cli.stimulation import schema_text

from .conftest import ROOT
from .test_startup_imports import HEAVY, imported_after, listing, run_cli

Run = Callable[..., Result]
RunJson = Callable[..., tuple[int, Any]]
EXAMPLE = (
    ROOT / "src" / "thecal" / "data" / "examples" / "stimulation" / "opennerve-tonic-and-burst.toml"
)

# The worked example on a lead whose geometry is entered (not public).
PROGRAM = """
title = "worked example"
[ipg]
model = "OpenNerve IPG"
[[leads]]
name = "L1"
model = "Vectris 977A2"
kind = "percutaneous"
contacts = 8
diameter = "1.3 mm"
contact_length = "3 mm"
[[areas]]
name = "low back"
amplitude = "{amplitude}"
pulse_width = "300 us"
rate = "50 Hz"
contacts = [
  {{ lead = "L1", index = 1, polarity = "cathode" }},
  {{ lead = "case", polarity = "anode" }},
]
"""


def write(tmp_path: Path, amplitude: str = "5 mA", text: str = PROGRAM) -> Path:
    path = tmp_path / "program.toml"
    path.write_text(text.format(amplitude=amplitude), encoding="utf-8")
    return path


def test_check_prints_charge_density_and_k_and_exits_0(run: Run, tmp_path: Path) -> None:
    result = run("stimulation", "check", write(tmp_path))
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())
    # 5 mA x 300 us = 1.5 uC; / 0.1225 cm2 = 12.2 uC/cm2; k = 1.26.
    assert "L1:1 cathode 100% 5 mA 1.5 12.2 1.26" in flat
    assert "STIM-INPUT-MISSING" in flat and "ipg.available_voltage" in flat
    assert "No hard or soft findings." in flat


def test_check_json(run_json: RunJson, run: Run, tmp_path: Path) -> None:
    code, data = run_json("stimulation", "check", write(tmp_path))
    assert code == 0 and data["blocked"] is False and data["ipg"] == "OpenNerve IPG"
    (contact,) = data["areas"][0]["contacts"]
    assert contact["charge_per_phase"] == {"value": 1.5, "unit": "uC"}
    assert contact["charge_density"]["unit"] == "uC/cm2"
    assert contact["charge_density"]["value"] == pytest.approx(12.24, abs=0.01)
    assert contact["shannon_k"] == pytest.approx(1.264, abs=0.001)
    assert {f["code"] for f in data["findings"]} == {"STIM-INPUT-MISSING"}
    # The command's own --json is the same as the global one.
    own = run("stimulation", "check", write(tmp_path), "--json")
    assert json.loads(own.stdout) == data


def test_a_hard_finding_refuses_with_exit_3(run: Run, run_json: RunJson, tmp_path: Path) -> None:
    # 5.5 mA is above the OpenNerve maximum of 5.0 mA.
    result = run("stimulation", "check", write(tmp_path, "5.5 mA"))
    assert result.exit_code == 3
    assert "REFUSED" in result.stdout and "STIM-AMPLITUDE-RANGE" in result.stdout
    code, data = run_json("stimulation", "check", write(tmp_path, "5.5 mA"))
    assert code == 3 and data["blocked"] is True


@pytest.mark.parametrize(
    ("amplitude", "field"),
    [("nan mA", "areas[0].amplitude"), ("5", "areas[0].amplitude"), ("5 V", "areas[0].amplitude")],
)
def test_bad_input_exits_2_naming_the_field(
    run: Run, tmp_path: Path, amplitude: str, field: str
) -> None:
    result = run("stimulation", "check", write(tmp_path, amplitude))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {field}:") and result.stderr.count("\n") == 1
    as_json = run("--json", "stimulation", "check", write(tmp_path, amplitude))
    assert as_json.exit_code == 2 and json.loads(as_json.stdout)["error"]["field"] == field


def test_missing_geometry_and_missing_file_exit_2(run: Run, tmp_path: Path) -> None:
    text = PROGRAM.replace('diameter = "1.3 mm"\n', "")
    result = run("stimulation", "check", write(tmp_path, text=text))
    assert result.exit_code == 2 and "leads[0].diameter" in result.stderr
    assert "not public" in result.stderr
    missing = run("stimulation", "check", tmp_path / "nope.toml")
    assert missing.exit_code == 2 and missing.stderr.startswith("error: program:")


def test_institution_catalog(run_json: RunJson, tmp_path: Path) -> None:
    inst = tmp_path / "inst.toml"
    inst.write_text(
        '[[ipgs]]\nmodel = "OpenNerve IPG"\navailable_voltage = "4 V"\n'
        'available_voltage_source = "vendor letter 2026"\n',
        encoding="utf-8",
    )
    # 5 mA into an unknown impedance: compliance now needs only the impedance.
    code, data = run_json("stimulation", "check", write(tmp_path), "--catalog", inst)
    assert code == 0
    messages = " ".join(f["message"] for f in data["findings"])
    assert "areas[0].impedance" in messages and "ipg.available_voltage" not in messages
    inst.write_text('[limits]\nshannon_k = 2.0\nshannon_k_source = "x"\n', encoding="utf-8")
    code, data = run_json("stimulation", "check", write(tmp_path), "--catalog", inst)
    assert code == 2 and data["error"]["field"].endswith("limits.shannon_k")


def test_the_shipped_example_passes(run_json: RunJson) -> None:
    code, data = run_json("stimulation", "check", EXAMPLE)
    assert code == 0 and not data["blocked"] and len(data["areas"]) == 2


def test_committed_schema_is_the_generated_one(run: Run) -> None:
    committed = (ROOT / "docs" / "schema" / "stimulation.schema.json").read_text()
    assert committed == schema_text(), (
        "run: thecal stimulation schema > docs/schema/stimulation.schema.json"
    )
    result = run("stimulation", "schema")
    assert result.exit_code == 0 and result.stdout == schema_text()


def test_group_help_lines_match_and_import_nothing_heavy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    group = typer.main.get_command(app).get_command(None, "stimulation")  # type: ignore[attr-defined]
    stored = listing(group, "stimulation", capsys)
    for command in group.list_commands(None):
        assert group.get_command(None, command) is not None
    assert listing(group, "stimulation", capsys) == stored
    assert imported_after(run_cli("stimulation", "--help")) == set()
    loaded = imported_after(run_cli("stimulation", "check", str(EXAMPLE)))
    assert "pint" in loaded and loaded.isdisjoint((*HEAVY, "thecal.store", "thecal.web"))


BATTERY = """
[ipg]
model = "Proclaim XR"
capacity = "300 mAh"
cell_voltage = "3 V"
efficiency = "60 %"
quiescent_power = "20 uW"
[[leads]]
name = "P"
model = "Penta"
kind = "paddle"
contact_area = "6 mm2"
[[areas]]
name = "x"
amplitude = "3 mA"
pulse_width = "200 us"
rate = "40 Hz"
impedance = "700 Ohm"
contacts = [
  {{ lead = "P", index = 0, polarity = "cathode" }},
  {{ lead = "P", index = 1, polarity = "anode" }},
]
"""


def test_battery_projection(run: Run, run_json: RunJson, tmp_path: Path) -> None:
    # E = (3 mA)^2 x 700 Ohm x 200 us = 1.26 uJ; x 40 Hz = 50.4 uW; / 0.6 = 84 uW; + 20 = 104 uW.
    # 300 mAh x 3 V = 3240 J; / 104 uW = 3.115e7 s = 360.6 d.
    path = write(tmp_path, text=BATTERY)
    code, data = run_json("stimulation", "check", path)
    assert code == 0
    assert data["battery"]["kind"] == "primary"
    assert data["battery"]["drain"] == {"value": 104.0, "unit": "uW"}
    assert data["battery"]["stored_energy"] == {"value": 3240.0, "unit": "J"}
    assert data["areas"][0]["energy_per_pulse"] == {"value": 1.26, "unit": "uJ"}
    # 0.6 uC / 0.06 cm2 = 10 uC/cm2; k = 1 + log10 0.6 = 0.778.
    assert data["areas"][0]["contacts"][0]["charge_density"] == {"value": 10.0, "unit": "uC/cm2"}
    flat = " ".join(run("stimulation", "check", path).stdout.split())
    assert "projected longevity: 360.6 d" in flat and "drain 104 µW" in flat
