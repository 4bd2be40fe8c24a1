import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from thecal.adapters.data_files import LIBRARY_ENV
from thecal.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def _no_env_library(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A developer's $THECAL_LIBRARY must not change what the tests see.
    monkeypatch.delenv(LIBRARY_ENV, raising=False)
    yield


@pytest.fixture
def run() -> Callable[..., Result]:
    runner = CliRunner()

    def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, [str(a) for a in args], env=env)

    return invoke


@pytest.fixture
def run_json(run: Callable[..., Result]) -> Callable[..., tuple[int, Any]]:
    def invoke(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, Any]:
        result = run("--json", *args, env=env)
        return result.exit_code, json.loads(result.stdout)

    return invoke


def example(name: str) -> Path:
    return EXAMPLES / name
