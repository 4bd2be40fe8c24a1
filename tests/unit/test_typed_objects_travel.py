"""No service formats a quantity into text for another to parse (issue 11): the clinic and the
implant build typed plans (thecal.therapy.plan_model) and hand them to ``resolve``.

A source scan of src/thecal/clinic and src/thecal/implant: no quantity written as exact text
(``f"{x!r} mL"``), no plan-text helper (``exact``, ``vol_text``, ``_text``, ``format_quantity``,
``from_typed``), and no f-string or formatting call inside the arguments of a call that builds
or resolves a plan. The checker is shown to catch the code it replaced.
"""

import ast
import itertools
import re
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "thecal"
PACKAGES = ("clinic", "implant")
UNIT = re.compile(r"^\s*(mL|ml|uL|mg|mcg|ug|cm|mm|h|d|min|s|wk)(/[A-Za-z]+)?\b")
TEXT_HELPERS = {"exact", "vol_text", "_text", "format_quantity", "from_typed", "fmt", "format"}
# Calls that build a plan (typed or file form) or resolve one: their arguments take quantities.
PLAN_BUILDERS = {
    "resolve", "plan", "Plan", "PlanFile", "model_validate", "model_copy", "FillSettings",
    "RefillSettings", "ReportedBolusSettings", "PumpSettings", "PreviousSettings",
    "ScheduleSettings", "PatientBolusSettings", "Ingredient", "FillEntry", "RefillEntry",
    "ReportedBolusEntry", "PumpEntry", "PreviousEntry", "IngredientEntry", "ScheduleEntry",
    "PatientBolusEntry",
}  # fmt: skip


def _name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _with_unit(node: ast.JoinedStr, exact: bool) -> bool:
    """Whether ``node`` formats a value followed by a unit (``f"{v!r} mL"``; any conversion
    unless ``exact``)."""
    return any(
        isinstance(value, ast.FormattedValue)
        and (value.conversion == ord("r") or not exact)
        and isinstance(after, ast.Constant)
        and UNIT.match(str(after.value)) is not None
        for value, after in itertools.pairwise(node.values)
    )


def problems(source: str, where: str = "<snippet>") -> list[str]:
    """Every place in ``source`` where a quantity is turned into text to be parsed again."""
    tree = ast.parse(source)
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and _with_unit(node, exact=True):
            out.append(f"{where}:{node.lineno}: a quantity written as exact text")
        elif isinstance(node, ast.FunctionDef) and node.name in {"vol_text", "_text"}:
            out.append(f"{where}:{node.lineno}: defines the plan-text helper {node.name}")
        elif isinstance(node, ast.ImportFrom) and any(a.name == "exact" for a in node.names):
            out.append(f"{where}:{node.lineno}: imports the DTO formatter exact")
        elif isinstance(node, ast.Call) and _name(node) in PLAN_BUILDERS:
            args = [*node.args, *(k.value for k in node.keywords)]
            for arg in args:
                for inner in ast.walk(arg):
                    text = isinstance(inner, ast.JoinedStr) and _with_unit(inner, exact=False)
                    helper = isinstance(inner, ast.Call) and _name(inner) in TEXT_HELPERS
                    if text or helper:
                        out.append(f"{where}:{node.lineno}: {_name(node)}() is fed formatted text")
    return out


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (SRC / pkg).rglob("*.py"))


def test_the_scan_sees_the_packages() -> None:
    names = {p.name for p in _modules()}
    assert {"refill_workflow.py", "scenario_gate.py", "scenario_runner.py"} <= names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_quantity_goes_through_text_between_services(path: Path) -> None:
    assert problems(path.read_text(encoding="utf-8"), str(path.relative_to(SRC))) == []


@pytest.mark.parametrize(
    "snippet",
    [
        # clinic/refill_workflow.py before issue 11
        'def _text(q, unit, f, dim):\n    return f"{float(q.to(unit).magnitude)!r} {unit}"\n',
        'x = FillEntry(volume=_text(last.filled, "mL", "refill.filled", V), at=t)\n',
        # implant/scenario_quantities.py and scenario_gate.py before issue 11
        'def vol_text(v):\n    return f"{v!r} mL"\n',
        "r = RefillEntry(withdrawn=vol_text(withdrawn), last_fill=f)\n",
        'p = plan.model_copy(update={"fill": FillEntry(volume=f"{v} mL", at=t)})\n',
        "from thecal.units.format import exact\n",
        "resolve(PlanFile.from_typed(p), library, catalog)\n",
    ],
)
def test_the_scan_catches_the_code_it_replaced(snippet: str) -> None:
    assert problems(snippet)
