"""``thecal assess FILE.toml [--json]``: output, exit codes, institution rules, the schema."""

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from thecal.cli.assess import RULES_ENV
from thecal.decision.presentation import input_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = resources.files("thecal.data").joinpath("examples", "assess")


@pytest.fixture(autouse=True)
def _no_env_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RULES_ENV, raising=False)


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_schema_is_current() -> None:
    shipped = json.loads((ROOT / "docs" / "assess.schema.json").read_text(encoding="utf-8"))
    assert shipped == input_schema(), (
        "docs/assess.schema.json is stale: regenerate it with "
        "`python -c 'import json; from thecal.decision.presentation import input_schema; "
        "print(json.dumps(input_schema(), indent=2, sort_keys=True, ensure_ascii=False))'`"
    )


@pytest.mark.parametrize(
    "name", sorted(p.name for p in EXAMPLES.iterdir() if p.name.endswith(".toml"))
)
def test_shipped_examples_assess(run_json: Callable[..., tuple[int, Any]], name: str) -> None:
    code, data = run_json("assess", str(EXAMPLES.joinpath(name)))
    assert code == 0
    assert set(data) >= {
        "urgency",
        "prompts",
        "differential",
        "workup",
        "must_not_miss",
        "statement",
    }
    for item in data["prompts"] + data["workup"]:
        assert item["source"] and item["because"]


def test_json_for_the_new_weakness_example(run: Callable[..., Result]) -> None:
    result = run("assess", str(EXAMPLES.joinpath("new_weakness_after_implant.toml")), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["urgency"] == "within_24h"
    assert "epidural-metastasis" in [d["code"] for d in data["differential"]]


def test_rich_output_says_it_proposes(run: Callable[..., Result]) -> None:
    result = run("assess", str(EXAMPLES.joinpath("calcified_pocket_at_replacement.toml")))
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # Rich wraps lines at the terminal width
    assert "never diagnoses" in text
    assert "Urgency: today" in text
    assert "calcification can mimic infection" in text


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('device = "pump"\n', "device"),
        ('device = "stimulator"\ndwell_time = "9"\n', "dwell_time"),
        ('device = "stimulator"\n[[symptoms]]\nkind = "itch"\n', "symptoms.0.kind"),
        ('device = "stimulator"\nextra = 1\n', "extra"),
        ("device = \n", "file"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    run: Callable[..., Result], tmp_path: Path, text: str, field: str
) -> None:
    result = run("assess", write(tmp_path, text))
    assert result.exit_code == 2
    assert f"error: {field}" in result.stderr


def test_missing_file_exits_2(run: Callable[..., Result], tmp_path: Path) -> None:
    result = run("assess", tmp_path / "nope.toml")
    assert result.exit_code == 2 and "file not found" in result.stderr


def test_institution_rules_tighten_and_are_read_from_the_environment(
    run_json: Callable[..., tuple[int, Any]], tmp_path: Path
) -> None:
    p = write(tmp_path, 'device = "stimulator"\nimpedance_trend = "rising"\n')
    ours = write(tmp_path, '[[tighten]]\nid = "R9"\nurgency = "within_week"\n', "ours.toml")
    assert run_json("assess", p)[1]["urgency"] == "routine"
    assert run_json("assess", p, "--rules", ours)[1]["urgency"] == "within_week"
    assert run_json("assess", p, env={RULES_ENV: str(ours)})[1]["urgency"] == "within_week"


def test_loosening_file_is_refused_with_exit_2(run: Callable[..., Result], tmp_path: Path) -> None:
    p = write(tmp_path, 'device = "stimulator"\n')
    ours = write(tmp_path, '[[tighten]]\nid = "R1"\nurgency = "routine"\n', "ours.toml")
    result = run("assess", p, "--rules", ours)
    assert result.exit_code == 2
    assert "ours.toml: tighten.0 (R1).urgency" in result.stderr
    assert "never lower" in result.stderr
