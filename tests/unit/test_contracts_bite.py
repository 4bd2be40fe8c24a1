"""The import contracts bite: each deliberately wrong import is refused.

A copy of src/thecal (and pyproject.toml) goes to a temp dir; one wrong line at a time is appended
to one module, and the checks that guard it run on the copy: ``lint-imports`` (import-linter
imports ``thecal`` to find it, so the copy goes first on PYTHONPATH), ``ruff check --select
TID251`` (banned clock and file APIs in the cores) and the AST allow-list of
tests/unit/test_core_imports.py. Each case names the checks that must refuse it, and for
lint-imports the contract that must report BROKEN — so a contract that silently stops matching
fails here. The clean copy must pass every check first, so a refusal is the injection's doing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.test_core_imports import core_violations

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Contract names by a unique prefix (the full names live in pyproject.toml).
LAYERS = "Layers point inward"
CLINIC_NO_IMPLANT = "The clinic never imports the implant"
PURE_CORES = "The pure cores"
LINK_REUSABLE = "The link layer is reusable"
PROGRAMMER_PURE = "Programmer services"
CLINIC_PURE = "Clinic services are pure"
DEVICES_COMMON = "The common device modules are family-agnostic"


@dataclass(frozen=True)
class Injection:
    file: str  # under thecal/
    code: str  # appended to the module
    contracts: tuple[str, ...] = ()  # import-linter contracts that must report BROKEN
    ruff: bool = False  # ruff's banned-api (TID251) must refuse it
    ast: bool = False  # the allow-list checker must refuse it

    @property
    def id(self) -> str:
        return f"{self.file}: {self.code.splitlines()[0]}"


INJECTIONS = [
    # The review's wrong imports.
    Injection("programmer/clinician.py", "import thecal.implant.firmware", (LAYERS,), ast=True),
    Injection("therapy/plan.py", "import sqlalchemy", (PURE_CORES,), ast=True),
    Injection("therapy/schedule.py", "import fastapi", (PURE_CORES,), ast=True),
    Injection("therapy/delivery.py", "import subprocess", (PURE_CORES,), ast=True),
    Injection(
        "therapy/refill_dates.py",
        "from datetime import datetime\n_NOW = datetime.now()",
        ruff=True,
        ast=True,
    ),
    Injection("web/app.py", "import thecal.cli", (LAYERS,)),
    Injection("clinic/workflows.py", "import thecal.implant", (CLINIC_NO_IMPLANT,), ast=True),
    Injection("devices/catalog.py", "import thecal.link", (LAYERS,), ast=True),
    # More of the same kind.
    Injection("implant/firmware.py", "from thecal.programmer import commands", (LAYERS,), ast=True),
    Injection("link/frames.py", "import thecal.devices", (LAYERS, LINK_REUSABLE)),
    Injection("api/routes.py", "import thecal.web", (LAYERS,)),
    Injection("units/parse.py", "from thecal.therapy import drugs", (LAYERS,), ast=True),
    Injection("devices/pump.py", "import time\n_T = time.time()", (PURE_CORES,), True, True),
    Injection("implant/plant.py", "import matplotlib", (PURE_CORES,), ast=True),
    Injection("therapy/compare.py", "import logging", (PURE_CORES,), ast=True),
    Injection("programmer/commands.py", "import httpx", (PROGRAMMER_PURE,), ast=True),
    Injection("clinic/worklist.py", "import os", (CLINIC_PURE,), ast=True),
    Injection(
        "clinic/calendar.py", "from thecal.store import repository", (CLINIC_PURE,), ast=True
    ),
    Injection(
        "clinic/lifecycle.py", "from datetime import date\n_D = date.today()", ruff=True, ast=True
    ),
    Injection("units/format.py", "_TEXT = open('notes.txt').read()", ast=True),
    # The family-agnostic device modules stay free of the drug pump (directly or through another).
    Injection("devices/log.py", "import thecal.therapy.schedule", (DEVICES_COMMON,)),
    Injection("devices/refusals.py", "from thecal.devices import pump", (DEVICES_COMMON,)),
    Injection("devices/states.py", "import thecal.therapy.delivery", (DEVICES_COMMON,)),
    # The stimulation core sits beside the drug-therapy core, below the devices and the link.
    Injection("stimulation/charge.py", "import thecal.devices", (LAYERS,), ast=True),
    Injection("therapy/compare.py", "import thecal.stimulation", (LAYERS,), ast=True),
    Injection("stimulation/gate.py", "import time\n_T = time.time()", (PURE_CORES,), True, True),
    Injection("stimulation/battery.py", "import sqlalchemy", (PURE_CORES,), ast=True),
]


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree / "src"), "NO_COLOR": "1", "COLUMNS": "200"}


def _lint_imports(tree: Path) -> tuple[int, str]:
    run = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        check=False,
    )
    # Long contract names wrap across lines: one space between words makes them findable.
    return run.returncode, re.sub(r"\s+", " ", run.stdout + run.stderr)


def _ruff_banned(tree: Path, file: str) -> tuple[int, str]:
    run = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "--select", "TID251", f"src/thecal/{file}"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    return run.returncode, run.stdout + run.stderr


def _contract_names() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def _full_name(prefix: str) -> str:
    (name,) = [n for n in _contract_names() if n.startswith(prefix)]
    return name


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("contracts")
    shutil.copytree(
        ROOT / "src" / "thecal",
        root / "src" / "thecal",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    # import-linter must analyse the copy, not the installed package.
    where = subprocess.run(
        [sys.executable, "-c", "import thecal; print(thecal.__file__)"],
        env=_env(root),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(root), where
    return root


def test_clean_copy_passes_every_check(tree: Path) -> None:
    code, out = _lint_imports(tree)
    assert code == 0, out
    assert f"Contracts: {len(_contract_names())} kept, 0 broken" in out
    assert _ruff_banned(tree, "")[0] == 0
    assert core_violations(tree / "src") == []


@pytest.mark.parametrize("case", INJECTIONS, ids=lambda case: case.id)
def test_wrong_import_is_refused(tree: Path, case: Injection) -> None:
    assert case.contracts or case.ruff or case.ast, "a case must name what refuses it"
    path = tree / "src" / "thecal" / case.file
    original = path.read_text(encoding="utf-8")
    path.write_text(f"{original}\n{case.code}\n", encoding="utf-8")
    try:
        if case.contracts:
            code, out = _lint_imports(tree)
            assert code != 0, out
            for prefix in case.contracts:
                assert f"{_full_name(prefix)} BROKEN" in out, out
        if case.ruff:
            code, out = _ruff_banned(tree, case.file)
            assert code != 0 and "TID251" in out, out
        if case.ast:
            found = core_violations(tree / "src")
            assert found, f"the allow-list checker accepted {case.code!r} in {case.file}"
            assert all(v.startswith(f"thecal.{case.file[:-3].replace('/', '.')}:") for v in found)
    finally:
        path.write_text(original, encoding="utf-8")
