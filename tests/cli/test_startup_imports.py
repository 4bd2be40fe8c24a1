"""Start-up weight of the ``thecal`` command (issue 11).

Sub-commands are imported on first use (thecal.cli.lazy), so ``thecal --help`` does not pay for
pint, the store or the web stack. These tests guard which modules get imported, never how long
it takes (timings live in benchmarks/cli_startup.py).
"""

import subprocess
import sys
from typing import Any

import pytest
import typer.main
from typer import _click

from thecal.cli.main import app

from .conftest import EXAMPLES

# The web/database stack and plotting: never needed to list commands or show a plan.
HEAVY = ("matplotlib", "sqlalchemy", "alembic", "fastapi", "uvicorn", "jinja2")
# Needed by every calculation, but not to print the top-level help.
CALCULATION = ("pint", "numpy", "thecal.units", "thecal.therapy", "thecal.store", "thecal.web")


def imported_after(code: str) -> set[str]:
    """Top-level names from HEAVY + CALCULATION present in sys.modules after ``code`` ran in a
    fresh interpreter (a subprocess: this test process has imported everything already)."""
    probe = (
        "import sys\n"
        f"{code}\n"
        f"watched = {HEAVY + CALCULATION!r}\n"
        "print('IMPORTED:', *(w for w in watched if w in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    # The command's own output comes first; the probe's line is the last one.
    last = done.stdout.splitlines()[-1].split()
    assert last[0] == "IMPORTED:", done.stdout
    return set(last[1:])


def run_cli(*args: str) -> str:
    """Run ``thecal ARGS`` in the probe's interpreter, swallowing the usual SystemExit."""
    return (
        f"sys.argv = ['thecal', *{list(args)!r}]\n"
        "from thecal.cli.main import app\n"
        "try:\n"
        "    app()\n"
        "except SystemExit:\n"
        "    pass\n"
    )


def test_importing_the_cli_imports_no_heavy_module() -> None:
    assert imported_after("import thecal.cli.main") == set()


@pytest.mark.parametrize("args", [("--help",), (), ("plan", "--help"), ("implant", "--help")])
def test_help_listings_import_nothing_heavy(args: tuple[str, ...]) -> None:
    assert imported_after(run_cli(*args)) == set()


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "show", str(EXAMPLES / "refill-morphine.toml")),
        ("implant", "list"),  # matplotlib only with --plot
    ],
)
def test_calculations_import_no_web_database_or_plotting_module(args: tuple[str, ...]) -> None:
    loaded = imported_after(run_cli(*args))
    assert "pint" in loaded  # it did calculate
    assert loaded.isdisjoint((*HEAVY, "thecal.store", "thecal.web"))


def listing(group: Any, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    with _click.Context(group, info_name=name, terminal_width=100) as ctx:
        group.format_help(ctx, _click.HelpFormatter(width=100))
    return capsys.readouterr().out


def groups() -> list[tuple[str, Any]]:
    top = typer.main.get_command(app)
    found = [("thecal", top)]
    for name in ("plan", "library", "implant"):
        found.append((name, top.get_command(None, name)))  # type: ignore[attr-defined]
    return found


@pytest.mark.parametrize("index", range(4))
def test_stored_help_lines_match_the_commands_own(
    index: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # The listing is rendered from the lines stored in main.py, then again after every
    # sub-command was loaded (the listing then reads the commands' docstrings): same text.
    name, group = groups()[index]
    stored = listing(group, name, capsys)
    for command in group.list_commands(None):
        assert group.get_command(None, command) is not None
    assert listing(group, name, capsys) == stored
    assert "Commands" in stored
