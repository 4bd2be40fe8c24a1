"""`thecal implant simulate|list` through CliRunner: log, JSON shape, plot, errors, determinism."""

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from typer.testing import Result

from .conftest import ROOT

Run = Callable[..., Result]
SCENARIOS = ROOT / "scenarios"
DELAYED = SCENARIOS / "seed003-delayed-refill.toml"
TRIAL = SCENARIOS / "seed003-trial-disconnect.toml"


def test_simulate_prints_the_log_final_status_and_findings(run: Run) -> None:
    result = run("implant", "simulate", DELAYED)
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "EMPTY_RESERVOIR" in out and "alarm raised" in out
    assert "RESTART-TOLERANCE" in out
    assert "Final status" in out and "reached the CSF" in out
    assert "routine entries hidden" in out  # the 1,560 alarm repeats


def test_simulate_a_shipped_scenario_by_name(run: Run) -> None:
    result = run("implant", "simulate", "seed003-trial-disconnect")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "catheter disconnected" in out
    assert "24 mL (2.4 mg bupivacaine; 2.4 mg hydromorphone)" in out


def test_list_shows_the_packaged_scenarios(run: Run) -> None:
    result = run("implant", "list")
    assert result.exit_code == 0
    for path in SCENARIOS.glob("*.toml"):
        assert path.stem in result.stdout
    code, data = _json(run("--json", "implant", "list"))
    assert code == 0 and {s["name"] for s in data["scenarios"]} == {
        p.stem for p in SCENARIOS.glob("*.toml")
    }


def _json(result: Result) -> tuple[int, Any]:
    return result.exit_code, json.loads(result.stdout)


def test_json_shape(run: Run) -> None:
    code, data = _json(run("implant", "simulate", TRIAL, "--json"))
    assert code == 0
    assert data["device"]["model"] == "Curlin 6000 CMS"
    assert data["device"]["flow_bias"] == {"value": 0.0, "unit": "%"}
    datetime.fromisoformat(data["start"])
    entry = data["log"][0]
    assert set(entry) == {
        "time", "device_time", "source", "seq", "kind", "alarm", "message", "values"
    }  # fmt: skip
    assert entry["source"] == "device" and entry["seq"] == 1
    refill = next(e for e in data["log"] if e["kind"] == "refill recorded")
    assert refill["values"]["volume"] == {"value": 100.0, "unit": "mL"}
    final = data["final"]
    # 0.5 mL/h: 72 h left the bag (36 mL), the first 48 h reached the CSF (24 mL).
    assert final["left_pump"] == {"value": 36.0, "unit": "mL"}
    assert final["to_csf"] == {"value": 24.0, "unit": "mL"}
    assert final["doses_to_csf"]["hydromorphone"] == {"value": 2.4, "unit": "mg"}
    assert final["catheter"] == "disconnected"
    assert final["alarms"] == [] and final["eri_at"] is None
    assert data["actions"][0]["index"] == -1  # the initial program
    for e in data["log"]:
        datetime.fromisoformat(e["time"])


def test_until_overrides_and_json_findings(run: Run) -> None:
    code, data = _json(run("--json", "implant", "simulate", DELAYED, "--until", "30 d"))
    assert code == 0
    assert data["end"] == "2024-01-31T09:00:00"
    # 30 d x 0.3 mL/d = 9 mL delivered; 11 mL left; no refill yet.
    assert data["final"]["reservoir_true"]["value"] == 11.0
    assert all(a["kind"] != "refill" for a in data["actions"])
    code, data = _json(run("--json", "implant", "simulate", DELAYED, "--until", "3 mo"))
    refill = next(a for a in data["actions"] if a["kind"] == "refill")
    assert "RESTART-TOLERANCE" in [f["code"] for f in refill["findings"]]


def test_plot_writes_a_png(run: Run, tmp_path: Path) -> None:
    png = tmp_path / "out" / "trial.png"
    result = run("implant", "simulate", TRIAL, "--plot", png)
    assert result.exit_code == 0, result.output
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 30_000  # a real figure, not an empty canvas


def test_same_seed_gives_identical_json(run: Run) -> None:
    a = run("--json", "implant", "simulate", TRIAL, "--seed", "3", "--until", "3 d")
    b = run("--json", "implant", "simulate", TRIAL, "--seed", "3", "--until", "3 d")
    assert a.exit_code == 0 and a.stdout == b.stdout
    assert json.loads(a.stdout)["device"]["seed"] == 3


def test_bad_scenario_is_one_line_naming_the_field(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        TRIAL.read_text(encoding="utf-8").replace('rate = "0.5 mL/h"', 'rate = "0.5 mL"'),
        encoding="utf-8",
    )
    result = run("implant", "simulate", bad)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: schedule.rate:")
    assert "time base" in lines[0]


def test_bad_until_missing_file_and_plot_name(run: Run, tmp_path: Path) -> None:
    result = run("implant", "simulate", TRIAL, "--until", "3 mL")
    assert result.exit_code == 2 and result.stderr.startswith("error: until:")
    result = run("implant", "simulate", tmp_path / "nope.toml")
    assert result.exit_code == 2 and result.stderr.startswith("error: scenario:")
    result = run("implant", "simulate", "no-such-scenario")
    assert result.exit_code == 2 and result.stderr.startswith("error: scenario:")
    assert "seed003-trial-disconnect" in result.stderr
    result = run("implant", "simulate", TRIAL, "--plot", tmp_path / "x.jpg")
    assert result.exit_code == 2 and result.stderr.startswith("error: plot:")
