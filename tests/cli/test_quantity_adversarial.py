"""Adversarial quantities through the command line: ``plan show`` on a generated plan file,
``convert`` and ``refill``. Every run ends in exit 2 with one ``error: <field>:`` line, or in an
answer whose numbers are all finite; never a traceback."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import Result

from tests.cli.conftest import example as example_file
from tests.quantity_inputs import all_finite, quantity_text, strict_loads
from thecal.units import Dimension, InputError, parse_quantity

Run = Callable[..., Result]
V = Dimension.VOLUME
FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PLAN = example_file("refill-morphine.toml").read_text()
# TOML literals that are not strings: TOML itself has nan and inf.
TOML_LITERALS = ["nan", "inf", "-inf", "+nan", "1e999", "3", "true", "[]", '"""3 mg/d"""']


def parser_refuses(text: str, dim: Dimension) -> bool:
    try:
        parse_quantity(text, "x", dim)
    except InputError:
        return True
    return False


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON escapes are TOML escapes for these characters)."""
    return json.dumps(text, ensure_ascii=True)


def assert_clean(result: Result, field: str, text: str | None = None, dim: Dimension = V) -> None:
    """Refused naming a field (exit 2, one line: ``field`` itself when the parser refuses
    ``text``), or answered with finite numbers only."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if result.exit_code == 2:
        line = result.stderr.splitlines()[0]
        assert re.match(r"error: \S+: ", line) and len(result.stderr.splitlines()) == 1, line
        assert "expected None" not in line, line
        if text is not None and parser_refuses(text, dim):
            assert line.startswith(f"error: {field}: "), line
        return
    assert result.exit_code in (0, 3), result.output  # 3: a hard finding refuses the plan
    assert all_finite(strict_loads(result.stdout))


@FUZZ
@given(st.one_of(quantity_text(["mg/d", "mcg/d", "mg/h"]).map(toml_string),
                 st.sampled_from(TOML_LITERALS)))  # fmt: skip
@example(toml_string("inf mg/d"))
@example("inf")
@example(toml_string("5 mg/d * 9**9**9"))
def test_plan_dose(run: Run, tmp_path: Path, literal: str) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(PLAN.replace('dose = "3 mg/d"', f"dose = {literal}"), encoding="utf-8")
    result = run("--json", "plan", "show", path)
    if result.exit_code == 2 and "TOML" in result.stderr:
        return  # not TOML at all (an escape TOML lacks): refused before any quantity
    assert_clean(result, "schedule.dose")  # the TOML reader refuses first; exact text unknown


@FUZZ
@given(quantity_text(["mg/d", "mcg/d", "mg/h"]))
@example("nan mg/d")
@example("2,5 mg/d")
def test_convert(run: Run, dose: str) -> None:
    result = run("--json", "convert", "--from", "oral", "--to", "it", "--", dose)
    assert_clean(result, "dose", dose, Dimension.DOSE_RATE)


@FUZZ
@given(quantity_text(["mL", "uL"]), st.sampled_from(["--withdrawn", "--filled", "--confirmed"]))
@example("4 gallon", "--withdrawn")
@example("NaN mL", "--withdrawn")
@example("2 mL + 3 mL", "--filled")
def test_refill_volumes(run: Run, volume: str, option: str) -> None:
    result = run("--json", "refill", example_file("refill-morphine.toml"), f"{option}={volume}")
    assert_clean(result, option.lstrip("-"), volume)


@pytest.mark.parametrize("option", ["--ack-timeout=nan", "--ack-timeout=inf", "--ack-timeout=0"])
def test_programmer_float_option_must_be_finite(run: Run, option: str) -> None:
    result = run("programmer", "interrogate", "--port", "9", "--key", "missing.key", option)
    assert result.exit_code == 2 and result.stderr.startswith("error: --ack-timeout:")
