"""`thecal implant stimulate` through CliRunner: text, JSON, plot, errors."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import Result

Run = Callable[..., Result]


def test_stimulate_prints_log_impedance_and_final_status(run: Run) -> None:
    result = run("implant", "stimulate", "lead-fracture")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "OPEN_CIRCUIT" in out and "above the measurable range" in out
    assert "Impedance tests" in out and "Final status" in out


def test_stimulate_json_and_plot(run_json: Callable[..., tuple[int, Any]], tmp_path: Path) -> None:
    png = tmp_path / "ipg.png"
    code, data = run_json("implant", "stimulate", "seed000-ipg-end-of-service", "--plot", png)
    assert code == 0
    assert data["final"]["therapy"] == "end of service" and data["final"]["eos_at"]
    assert data["impedance"] and data["refused"][0]["code"] == "end-of-service"
    assert png.stat().st_size > 10_000


def test_stimulate_names_the_field_of_a_bad_file(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('start = 2025-01-01T00:00:00\nuntil = "1 d"\n', encoding="utf-8")
    result = run("implant", "stimulate", bad)
    assert result.exit_code == 2
    assert "device" in result.output or "battery" in result.output


def test_simulate_runs_a_stimulator_scenario_on_the_virtual_ipg(
    run_json: Callable[..., tuple[int, Any]], tmp_path: Path
) -> None:
    # 'thecal implant simulate' takes a stimulator scenario too, and plots impedance and battery.
    png = tmp_path / "ipg.png"
    code, data = run_json("implant", "simulate", "seed000-ipg-end-of-service", "--plot", png)
    assert code == 0
    assert data["final"]["therapy"] == "end of service"
    assert png.stat().st_size > 10_000


def test_simulate_refuses_pump_only_options_for_a_stimulator(run: Run) -> None:
    result = run("implant", "simulate", "lead-fracture", "--until", "2y")
    assert result.exit_code == 2
    assert "--until" in result.output and "pump scenarios only" in result.output


def test_simulate_still_runs_pump_scenarios(run_json: Callable[..., tuple[int, Any]]) -> None:
    code, data = run_json("implant", "simulate", "eri-to-stop", "--until", "30 d")
    assert code == 0
    assert data["scenario"] == "eri-to-stop" and "reservoir_estimate" in data["final"]
