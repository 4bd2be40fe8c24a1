"""The independent vignette suite: each ``*.toml`` here was written from the published sources
(named in its comments), not from the shipped rule file, and is run against
``thecal assess --json`` as a subprocess.

``[expected]``: ``urgency`` (exact) or ``urgency_at_least`` / ``urgency_at_most``; ``mentions``
(phrases, case-insensitive, that must appear in some prompt, differential entry, work-up step or
must-not-miss statement); ``no_prompts`` (nothing at all is raised).
"""

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
VIGNETTES = sorted(HERE.glob("*.toml"))
ORDER = ["routine", "within_week", "within_24h", "today", "emergency"]


def assess(presentation: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    # The vignette's [presentation] table, written back as a presentation file (the standard
    # library reads TOML but does not write it).
    path = tmp_path / "presentation.toml"
    path.write_text(_to_toml(presentation), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "thecal.cli.main", "assess", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str | int | float):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"


def _to_toml(data: dict[str, Any]) -> str:
    return "".join(f"{k} = {_value(v)}\n" for k, v in data.items())


def test_there_are_vignettes() -> None:
    assert len(VIGNETTES) >= 10


@pytest.mark.parametrize("path", VIGNETTES, ids=lambda p: p.stem)
def test_vignette(path: Path, tmp_path: Path) -> None:
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    expected = doc["expected"]
    out = assess(doc["presentation"], tmp_path)
    rank = ORDER.index(out["urgency"])
    if "urgency" in expected:
        assert out["urgency"] == expected["urgency"]
    if "urgency_at_least" in expected:
        assert rank >= ORDER.index(expected["urgency_at_least"]), out["urgency"]
    if "urgency_at_most" in expected:
        assert rank <= ORDER.index(expected["urgency_at_most"]), out["urgency"]
    items = [i for k in ("prompts", "differential", "workup", "must_not_miss") for i in out[k]]
    text = "\n".join(i["text"] for i in items).lower()
    for phrase in expected.get("mentions", []):
        assert phrase.lower() in text, f"{phrase!r} not in:\n{text}"
    for item in items:
        assert item["source"] and item["because"], item
    if expected.get("no_prompts"):
        assert items == [] and out["prompts"] == []
    assert "never diagnoses" in out["statement"]
