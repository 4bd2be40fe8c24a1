"""The mutation tool (tools/mutate.py): the mutants it makes, and that it restores the module."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_TOOL = Path(__file__).resolve().parents[3] / "tools" / "mutate.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("thecal_mutate_tool", _TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


mutate = _load()

SAMPLE = '''"""Docstring: 5 > 4 is not mutated."""

TOL = 1e-9


def over(v: float, m: float) -> bool:
    """Also not mutated: 1 + 1."""
    return v > m + TOL


def collect(xs: list[int]) -> list[str]:
    out: list[str] = []
    for x in xs:
        if not x == 0 and x >= 2:
            out.append(f"x{x + 1}")
    return out
'''


def _descriptions(source: str) -> list[tuple[int, str]]:
    return [(m.line, m.description) for m in mutate.generate(source)]


def test_generates_the_safety_relevant_mutants_and_nothing_in_strings() -> None:
    assert _descriptions(SAMPLE) == [
        (3, "`1e-09` -> `1.000000001`"),
        (3, "`1e-09` -> `0.0`"),
        (3, "`1e-09` -> `1.0000000000000002e-06`"),  # a tolerance x1000
        (8, "return True"),
        (8, "return False"),
        (8, "`>` -> `>=`"),
        (8, "`+` -> `-`"),
        (14, "`and` -> `or`"),
        (14, "remove `not`"),
        (14, "`==` -> `!=`"),
        (14, "`0` -> `1`"),
        (14, "`>=` -> `>`"),
        (14, "`2` -> `3`"),
        (14, "`2` -> `0`"),
        (15, "remove `out.append(...)`"),
    ]


def test_each_mutant_changes_one_thing_and_stays_valid_python() -> None:
    for m in mutate.generate(SAMPLE):
        mutated = m.apply(SAMPLE)
        compile(mutated, "sample.py", "exec")
        assert mutated != SAMPLE
    removal = mutate.generate(SAMPLE)[-1]
    assert "out.append" not in removal.apply(SAMPLE)
    assert "            pass\n" in removal.apply(SAMPLE)


def test_optional_returns_flip_to_none() -> None:
    source = "def f(x: int) -> str | None:\n    return 'a' if x else None\n"
    assert _descriptions(source) == [(2, "return None")]


def test_runs_the_tests_per_mutant_and_restores_the_module(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text(SAMPLE, encoding="utf-8")
    # 1 + 1e-9 is exactly at the limit plus its tolerance: `>=` is caught there; the test misses
    # the tolerance x1000 (nothing between 1 + 1e-9 and 1 + 1e-6 is tried).
    (tmp_path / "test_sample.py").write_text(
        "from sample import over\n\n\ndef test_edge() -> None:\n"
        "    assert not over(1.0 + 1e-9, 1.0)\n    assert over(1.1, 1.0)\n",
        encoding="utf-8",
    )
    mutants = {m.description: m for m in mutate.generate(SAMPLE)}
    chosen = [mutants["`>` -> `>=`"], mutants["`1e-09` -> `1.0000000000000002e-06`"]]
    before = module.stat().st_mtime_ns

    outcomes = mutate.run_module(module, chosen, ["test_sample.py"], 120.0, tmp_path, log=False)

    assert [o.status for o in outcomes] == ["killed", "survived"]
    assert module.read_text(encoding="utf-8") == SAMPLE
    assert module.stat().st_mtime_ns == before
    assert not (tmp_path / ("sample.py" + mutate.BACKUP_SUFFIX)).exists()


def test_restores_the_module_when_the_run_is_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "sample.py"
    module.write_text(SAMPLE, encoding="utf-8")

    def interrupted(*args: object) -> tuple[str, float]:
        assert module.read_text(encoding="utf-8") != SAMPLE  # the mutant is in place here
        raise KeyboardInterrupt

    monkeypatch.setattr(mutate, "_pytest", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mutate.run_module(module, mutate.generate(SAMPLE)[:1], ["x"], 1.0, tmp_path, log=False)
    assert module.read_text(encoding="utf-8") == SAMPLE


def test_a_backup_left_by_a_killed_run_is_put_back(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text("mutant = 1\n", encoding="utf-8")
    (tmp_path / ("sample.py" + mutate.BACKUP_SUFFIX)).write_text(SAMPLE, encoding="utf-8")
    assert mutate.recover(module)
    assert module.read_text(encoding="utf-8") == SAMPLE
    assert not mutate.recover(module)
