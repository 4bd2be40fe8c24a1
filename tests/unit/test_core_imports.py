"""Allow-list for the pure cores' imports: every module they import is named here.

import-linter's contracts (pyproject.toml) are deny-lists: they refuse the modules someone thought
of. This test is the other way round: each core package may import only the modules listed below,
so a new dependency (a database driver, an HTTP client, ``subprocess``) fails until someone adds
it here on purpose. Imports inside functions and ``TYPE_CHECKING`` blocks count too. It also
refuses calls that do I/O or read the clock without an import: the builtins ``open``, ``input``,
``print``, ``eval``, ``exec``, ``__import__``, ``breakpoint``, and ``datetime.now()``-style
clock reads (ruff's banned-api, TID251, catches the latter as well).

``core_violations(src)`` is reused by tests/unit/test_contracts_bite.py on an injected copy.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# Standard-library modules without I/O, clock or process side effects. ``datetime`` is here for
# its types (date, datetime, timedelta); reading the clock through it is refused below.
PURE_STDLIB = frozenset(
    {
        "__future__", "abc", "bisect", "collections", "contextlib", "copy", "dataclasses",
        "datetime", "decimal", "enum", "fractions", "functools", "heapq", "itertools", "math",
        "numbers", "operator", "re", "statistics", "string", "types", "typing",
    }
)  # fmt: skip

# Per core package: third-party and extra standard-library modules, and the thecal packages it
# may import (its own package always). Mirrors the Rooms table in docs/architecture.md.
_ALLOWED_NAMES = {
    "units": "pint numpy",
    "therapy": "pint numpy pydantic thecal.units",
    "stimulation": "pint pydantic thecal.units thecal.therapy",
    # thecal.stimulation: the stimulator family's protocol takes stimulation programs.
    "devices": "pint thecal.units thecal.therapy thecal.stimulation",
    # random: scenarios and the plant's noise use a seeded random.Random passed in (ruff bans
    # the global generator's functions in the cores); pydantic_core: pydantic's own error types,
    # for the scenario file's readable errors.
    "implant": "pint numpy pydantic pydantic_core random thecal.units thecal.therapy"
    " thecal.devices thecal.stimulation",
    # json/base64/binascii/hashlib/secrets: the command layer's wire encoding, digests and
    # nonces; pydantic: the command envelope's models; logging: link security events (rejected
    # frames, lost acks), handled at the edge. thecal.stimulation: a stimulator's group
    # programs travel on the wire (programmer/wire_stim_program.py).
    "programmer": "pint pydantic base64 binascii hashlib json logging secrets"
    " thecal.units thecal.therapy thecal.stimulation thecal.devices thecal.link",
    # random: the demo clinic's seeded random.Random; sys: sys.float_info only; uuid: record ids.
    # thecal.stimulation: the stimulation gate checks stimulator program versions.
    # thecal.decision: recorded assessments run the decision rules (issue 14).
    # The decision rules (issue 14): pydantic models for the presentation and the assessment.
    "decision": "pint pydantic thecal.units thecal.therapy",
    "clinic": "pint random sys uuid thecal.units thecal.therapy thecal.devices thecal.programmer"
    " thecal.stimulation thecal.decision",
}
ALLOWED = {package: frozenset(names.split()) for package, names in _ALLOWED_NAMES.items()}

FORBIDDEN_BUILTINS = frozenset(
    {"open", "input", "print", "eval", "exec", "__import__", "breakpoint"}
)
CLOCK_READS = frozenset({"now", "utcnow", "today"})
CLOCK_OWNERS = frozenset({"datetime", "date"})


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """Absolute names a statement imports (relative imports resolved against ``module``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:
        here = module.split(".") if is_package else module.split(".")[:-1]
        here = here[: len(here) - (node.level - 1)]
        base = ".".join(here + ([node.module] if node.module else []))
    if base == "thecal":  # `from thecal import units` imports the package thecal.units
        return [f"thecal.{alias.name}" for alias in node.names]
    return [base]


def _allowed_key(name: str) -> str:
    """The allow-list key: the top-level module, or thecal.<package> for Thecal's own."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "thecal" else parts[0]


def _is_clock_read(func: ast.expr) -> bool:
    if not isinstance(func, ast.Attribute) or func.attr not in CLOCK_READS:
        return False
    owner = func.value
    name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
    return name in CLOCK_OWNERS


def module_violations(path: Path, src: Path, package: str) -> list[str]:
    """Disallowed imports and I/O or clock calls in one module of core ``package``."""
    module = _module_name(path, src)
    allowed = PURE_STDLIB | ALLOWED[package] | {f"thecal.{package}"}
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imported(node, module, path.name == "__init__.py"):
                if _allowed_key(name) not in allowed:
                    found.append(f"{module}:{node.lineno} imports {name}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_BUILTINS:
                found.append(f"{module}:{node.lineno} calls {func.id}()")
            elif _is_clock_read(func):
                found.append(f"{module}:{node.lineno} reads the clock ({ast.unparse(func)}())")
    return found


def core_violations(src: Path, packages: tuple[str, ...] = tuple(ALLOWED)) -> list[str]:
    """Every violation in the given core packages under the source root ``src``."""
    found: list[str] = []
    for package in packages:
        for path in sorted((src / "thecal" / package).rglob("*.py")):
            found.extend(module_violations(path, src, package))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_core_package_imports_only_its_allow_list(package: str) -> None:
    modules = list((SRC / "thecal" / package).rglob("*.py"))
    assert len(modules) >= 2, f"no modules found for thecal.{package}"  # the walk really walked
    assert core_violations(SRC, (package,)) == []


def test_checker_resolves_relative_and_package_imports(tmp_path: Path) -> None:
    # A relative import climbing into another package, a `from thecal import`, a lazy import
    # inside a function, an `open(` call and a clock read: five violations, one each.
    core = tmp_path / "thecal" / "devices"
    core.mkdir(parents=True)
    (core / "bad.py").write_text(
        "from ..implant import firmware\n"
        "from thecal import store\n"
        "from . import catalog\n"
        "def f():\n"
        "    import sqlalchemy\n"
        "    open('x')\n"
        "    import datetime\n"
        "    return datetime.datetime.now()\n",
        encoding="utf-8",
    )
    found = core_violations(tmp_path, ("devices",))
    assert found == [
        "thecal.devices.bad:1 imports thecal.implant",
        "thecal.devices.bad:2 imports thecal.store",
        "thecal.devices.bad:5 imports sqlalchemy",
        "thecal.devices.bad:6 calls open()",
        "thecal.devices.bad:8 reads the clock (datetime.datetime.now())",
    ]
