"""Reading plan files: pydantic errors become one InputError with a dotted field path."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thecal.adapters.plan_files import dotted, load_plan, parse_plan
from thecal.units import InputError

BASE = {
    "at": "2024-01-01T08:00:00",
    "pump": {"model": "SynchroMed II 8637-20"},
    "admixture": [{"drug": "morphine", "concentration": "10 mg/mL"}],
    "schedule": {"mode": "continuous", "dose": "1 mg/d"},
}


def test_dotted_paths() -> None:
    assert dotted(("schedule", "steps", 1, "dose")) == "schedule.steps[1].dose"
    assert dotted(("admixture", 0, "drug")) == "admixture[0].drug"
    assert dotted(()) == ""


@given(st.lists(st.one_of(st.integers(0, 99), st.from_regex(r"[a-z_]{1,8}", fullmatch=True))))
def test_dotted_keeps_every_part_in_order(loc: list[int | str]) -> None:
    text = dotted(loc)
    rebuilt = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    assert text == rebuilt


def test_valid_plan_parses() -> None:
    plan = parse_plan(BASE)
    assert plan.schedule.dose == "1 mg/d"


@pytest.mark.parametrize(
    ("patch", "field", "expected_in"),
    [
        ({"pump": {"model": "SynchroMed II 8637-20", "reservoir": "5"}}, "pump.reservoir",
         "volume"),
        ({"schedule": {"mode": "continuous", "dose": "1 mg"}}, "schedule.dose", "time base"),
        ({"schedule": {"mode": "continuous"}}, "schedule", "exactly one"),
        ({"admixture": []}, "admixture", "at least 1"),
        ({"admixture": [{"drug": "morphine", "concentration": 10}]}, "admixture[0].concentration",
         "no unit"),
        ({"schedule": {"mode": "weekly", "dose": "1 mg/d"}}, "schedule.mode", "'continuous'"),
        ({"extra": 1}, "extra", "unknown key"),
    ],
)  # fmt: skip
def test_errors_name_the_field(patch: dict[str, object], field: str, expected_in: str) -> None:
    with pytest.raises(InputError) as err:
        parse_plan({**BASE, **patch})
    assert err.value.field == field
    assert expected_in in str(err.value)
    assert "\n" not in str(err.value)


def test_several_errors_are_counted_in_one_message() -> None:
    with pytest.raises(InputError) as err:
        parse_plan({"pump": {"model": "x"}})
    assert "more error" in err.value.message


def test_unknown_key_lists_the_allowed_keys() -> None:
    with pytest.raises(InputError) as err:
        parse_plan({**BASE, "pump": {"model": "x", "colour": "red"}})
    assert err.value.field == "pump.colour"
    assert err.value.expected is not None and "reservoir" in err.value.expected


def test_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_plan(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("at = 2024-01-01T08:00:00\nat = 1\n")
    with pytest.raises(InputError, match="not valid TOML") as err:
        load_plan(bad)
    assert err.value.field == "plan"
