"""`thecal` through CliRunner: exit codes, JSON shape, errors, seed numbers."""

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.cli.plan import schema_text

from .conftest import EXAMPLES, ROOT, example

Run = Callable[..., Result]
RunJson = Callable[..., tuple[int, Any]]

UCUM = re.compile(r"^(1|%|[a-zA-Z]+(/[a-zA-Z]+)?)$")
PINT_WORDS = ("milli", "micro", "gram", "liter", "day", "hour", "minute")


def quantities(node: Any) -> Iterator[dict[str, Any]]:
    """Every {"value", "unit"} object anywhere in a JSON document."""
    if isinstance(node, dict):
        if set(node) == {"value", "unit"}:
            yield node
        for v in node.values():
            yield from quantities(v)
    elif isinstance(node, list):
        for v in node:
            yield from quantities(v)


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, str):
        yield node


def close_to(iso: str, expected: datetime, seconds: float = 1.0) -> bool:
    # The reservoir dates are bisected to 0.1 s.
    return abs((datetime.fromisoformat(iso) - expected).total_seconds()) <= seconds


def check_q(q: dict[str, Any], value: float, unit: str) -> None:
    assert q["unit"] == unit
    assert q["value"] == pytest.approx(value, rel=1e-6)


# --- exit codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("seed003-case1-trial.toml", 0),
        ("seed003-case1-implant.toml", 0),
        ("seed003-case2-trial.toml", 0),
        ("seed003-case2-implant.toml", 0),  # soft finding only: needs a reason, not refused
        ("seed000-catheter-splice.toml", 0),
        ("soft-morphine-above-naive-range.toml", 0),
        ("hard-opioid-bolus-opioid-naive.toml", 3),
    ],
)
def test_plan_check_and_show_exit_codes(run: Run, name: str, code: int) -> None:
    for command in ("check", "show"):
        result = run("plan", command, example(name))
        assert result.exit_code == code, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_hard_finding_blocks_with_exit_3_and_names_the_rule(run_json: RunJson) -> None:
    code, data = run_json("plan", "check", example("hard-opioid-bolus-opioid-naive.toml"))
    assert code == 3
    assert data["blocked"] is True
    hard = [f for f in data["findings"] if f["level"] == "hard"]
    assert [f["code"] for f in hard] == ["PTB-OPIOID-NAIVE"]
    assert "opioid-naive" in hard[0]["message"]
    assert "labelling" in hard[0]["source"]


def test_soft_finding_exits_0_but_needs_a_reason(run_json: RunJson) -> None:
    code, data = run_json("plan", "check", example("soft-morphine-above-naive-range.toml"))
    assert code == 0
    assert data["blocked"] is False
    assert data["needs_reason"] == ["DOSE-DAILY-MAX"]
    (soft,) = [f for f in data["findings"] if f["level"] == "soft"]
    # 1.5 mg/d against the labelled 1 mg/d for opioid-naive patients.
    check_q(soft["limit"], 1.0, "mg/d")
    check_q(soft["value"], 1.5, "mg/d")


def test_human_output_has_the_notice_findings_and_verdict(run: Run) -> None:
    result = run("plan", "check", example("hard-opioid-bolus-opioid-naive.toml"))
    flat = " ".join(result.stdout.split())
    assert " ".join(NOT_A_MEDICAL_DEVICE.split()) in flat
    assert "PTB-OPIOID-NAIVE" in flat
    assert "source:" in flat
    assert "REFUSED" in flat
    shown = run("plan", "show", example("seed003-case1-trial.toml"))
    assert "not a certified medical device" in " ".join(shown.stdout.split())


# --- JSON shape --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_json_quantities_are_value_and_ucum_unit(run_json: RunJson, name: str) -> None:
    command = ("refill",) if name.startswith("refill") else ("plan", "show")
    _, data = run_json(*command, example(name))
    found = list(quantities(data))
    assert found, "no quantities in the output"
    for q in found:
        assert isinstance(q["value"], int | float), q
        assert UCUM.match(q["unit"]), q
        assert not any(w in q["unit"] for w in PINT_WORDS), q
    for s in strings(data):
        # A pint repr leaking into JSON would look like "1.2 milligram / day".
        assert not re.search(r"\d (milligram|microgram|milliliter)", s), s
    for f in data["findings"]:
        assert {"level", "code", "message", "source"} <= set(f)
        assert f["level"] in ("hard", "soft", "info")


def test_json_times_are_iso_8601(run_json: RunJson) -> None:
    _, data = run_json("plan", "show", example("seed003-case2-implant.toml"))
    assert data["at"] == "2024-03-18T09:00:00"
    for key in ("low_alarm_nominal", "low_alarm_worst", "empty_nominal", "refill_by"):
        datetime.fromisoformat(data["refill"][key])


# --- seed numbers through the CLI --------------------------------------------------------------


def test_seed003_case1_trial(run_json: RunJson) -> None:
    code, data = run_json("plan", "show", example("seed003-case1-trial.toml"))
    assert code == 0
    doses = data["daily_dose"]
    # 0.1 mg/mL × 0.5 mL/h × 24 h/d = 1.2 mg/d of each drug; 0.5 mL/h × 24 h/d = 12 mL/d.
    for drug in ("hydromorphone", "bupivacaine"):
        check_q(doses["drugs"][drug]["nominal"], 1.2, "mg/d")
        check_q(doses["drugs"][drug]["worst_case"], 1.2, "mg/d")
    check_q(doses["volume"]["nominal"], 12.0, "mL/d")
    step = data["schedule"]["basal"][0]["steps"][0]
    check_q(step["rate_per_hour"], 0.5, "mL/h")
    # Bag 100 mL, alarm 5 mL: 95 mL / 12 mL/d = 7.9167 d = 7 d 22 h; empty 100/12 d = 8 d 8 h.
    fill = datetime(2024, 1, 8, 9, 0)
    assert close_to(data["refill"]["low_alarm_nominal"], fill + timedelta(days=7, hours=22))
    assert close_to(data["refill"]["empty_nominal"], fill + timedelta(days=8, hours=8))
    assert data["findings"] == []  # external pump: no labelling finding; no limits for these drugs


def test_seed003_case1_implant(run_json: RunJson) -> None:
    code, data = run_json("plan", "show", example("seed003-case1-implant.toml"))
    assert code == 0
    # 1.999 mg/d ÷ 10 mg/mL = 0.1999 mL/d; bupivacaine 0.1999 mL/d × 10 mg/mL = 1.999 mg/d.
    check_q(data["daily_dose"]["volume"]["nominal"], 0.1999, "mL/d")
    check_q(data["daily_dose"]["drugs"]["hydromorphone"]["nominal"], 1.999, "mg/d")
    check_q(data["daily_dose"]["drugs"]["bupivacaine"]["nominal"], 1.999, "mg/d")
    # Alarm at 2 mL: 18 mL ÷ 0.1999 mL/d = 90.045 d after the fill.
    fill = datetime(2024, 2, 5, 9, 0)
    assert close_to(data["refill"]["low_alarm_nominal"], fill + timedelta(days=18 / 0.1999))
    assert close_to(data["refill"]["refill_by"], fill + timedelta(days=18 / 0.1999))
    codes = {f["code"] for f in data["findings"]}
    assert "LABEL-NOT-COVERED" in codes  # an off-label mixture in an implanted pump


def test_seed003_case2_trial(run_json: RunJson) -> None:
    _, data = run_json("plan", "show", example("seed003-case2-trial.toml"))
    # 0.2 mL/h × 24 h/d = 4.8 mL/d; × 0.25 mcg/mL = 1.2 mcg/d; × 0.25 mg/mL = 1.2 mg/d.
    check_q(data["daily_dose"]["volume"]["nominal"], 4.8, "mL/d")
    check_q(data["daily_dose"]["drugs"]["ziconotide"]["nominal"], 1.2, "ug/d")
    check_q(data["daily_dose"]["drugs"]["bupivacaine"]["nominal"], 1.2, "mg/d")


def test_seed003_case2_implant_first_fill_rule_decides(run_json: RunJson) -> None:
    code, data = run_json("plan", "show", example("seed003-case2-implant.toml"))
    assert code == 0
    # 2.5 mcg/d ÷ 10 mcg/mL = 0.25 mL/d; 0.25 mL/d × 10 mg/mL = 2.5 mg/d bupivacaine.
    check_q(data["daily_dose"]["volume"]["nominal"], 0.25, "mL/d")
    check_q(data["daily_dose"]["drugs"]["ziconotide"]["nominal"], 2.5, "ug/d")
    check_q(data["daily_dose"]["drugs"]["bupivacaine"]["nominal"], 2.5, "mg/d")
    refill = data["refill"]
    # First fill of a new pump: 2024-03-18 09:00 + 14 d, long before the alarm (18/0.25 = 72 d).
    assert refill["refill_by"] == "2024-04-01T09:00:00"
    assert "ziconotide" in refill["decided_by"] and "first fill" in refill["decided_by"]
    assert close_to(refill["low_alarm_nominal"], datetime(2024, 3, 18, 9) + timedelta(days=72))
    # 2.5 mcg/d is above the labelled starting maximum of 2.4 mcg/d: soft, needs a reason.
    assert data["needs_reason"] == ["DOSE-START-MAX"]
    assert "FIRST-FILL-RINSE" in {f["code"] for f in data["findings"]}


def test_seed000_priming_volume_and_time_to_tip(run_json: RunJson) -> None:
    code, data = run_json("plan", "show", example("seed000-catheter-splice.toml"))
    assert code == 0
    p = data["priming_bolus"]
    # 20 cm × 0.0026 mL/cm = 0.052 mL; at 3 mg/d ÷ 10 mg/mL = 0.3 mL/d: 0.052/0.3 d = 4.16 h.
    check_q(p["volume"], 0.052, "mL")
    check_q(p["basal_rate"], 0.3, "mL/d")
    check_q(p["time_to_tip"], 4.16, "h")
    assert "0.0026 mL/cm" in p["formula"]
    # Prometra II alarm 3 mL: 17 mL ÷ 0.3 mL/d = 56.67 d.
    fill = datetime(2023, 2, 14, 12, 0)
    assert close_to(data["refill"]["low_alarm_nominal"], fill + timedelta(days=17 / 0.3))


def test_bridge_bolus_when_the_concentration_changes(run_json: RunJson) -> None:
    _, data = run_json("plan", "show", example("bridge-morphine-concentration-change.toml"))
    b = data["bridge_bolus"]
    # Dead volume 0.2 mL (entered) + 50 cm × 0.0026 mL/cm = 0.33 mL.
    check_q(b["dead_volume"], 0.33, "mL")
    # Without a bridge: 0.33 mL ÷ 0.2 mL/d = 1.65 d = 39.6 h.
    check_q(b["clear_time"], 39.6, "h")
    # Bridge: 5 mg/d ÷ 10 mg/mL (old) = 0.5 mL/d for 0.33 ÷ 0.5 d = 15.84 h, then 0.2 mL/d.
    check_q(b["program"]["rate"], 0.5, "mL/d")
    check_q(b["program"]["duration"], 15.84, "h")
    check_q(b["program"]["then_rate"], 0.2, "mL/d")


def test_bridge_needs_the_internal_volume(run_json: RunJson, tmp_path: Path) -> None:
    text = example("bridge-morphine-concentration-change.toml").read_text()
    plan = tmp_path / "p.toml"
    plan.write_text(text.replace('internal_volume = "0.2 mL"', ""))
    code, data = run_json("plan", "show", plan)
    assert code == 0
    assert data["bridge_bolus"] is None
    assert any("internal volume" in n for n in data["notes"])


# --- refill ------------------------------------------------------------------------------------


def test_refill_numbers(run_json: RunJson) -> None:
    code, data = run_json("refill", example("refill-morphine.toml"))
    assert code == 0
    # 0.3 mL/d × 60 d = 18 mL delivered; 20 − 18 = 2 mL expected; 1.6 withdrawn → −0.4 mL.
    check_q(data["delivered_expected"], 18.0, "mL")
    check_q(data["expected_remaining"], 2.0, "mL")
    check_q(data["withdrawn"], 1.6, "mL")
    check_q(data["discrepancy"], -0.4, "mL")
    check_q(data["actual_delivered"], 18.4, "mL")
    check_q(data["delivery_error"], 0.4 / 18 * 100, "%")
    check_q(data["unaccounted_after_fill"], 0.2, "mL")
    # New fill 20 mL at the refill; alarm at 2 mL after 18 ÷ 0.3 = 60 d.
    assert close_to(data["next_refill"]["low_alarm_nominal"], datetime(2024, 5, 1, 9, 0))
    assert data["blocked"] is False and data["needs_reason"] == []


def test_refill_discrepancy_above_threshold_is_soft(run_json: RunJson) -> None:
    code, data = run_json("refill", example("refill-morphine.toml"), "--withdrawn", "5 mL")
    assert code == 0
    # 5 − 2 = +3 mL: more than the 2 mL threshold (more left than expected).
    check_q(data["discrepancy"], 3.0, "mL")
    assert "REFILL-DISCREPANCY" in data["needs_reason"]


def test_refill_possible_pocket_fill_is_hard(run_json: RunJson) -> None:
    code, data = run_json("refill", example("refill-morphine.toml"), "--confirmed", "18 mL")
    assert code == 3
    # 20 mL injected − 18 mL confirmed = 2 mL unaccounted > 1 mL for a 20 mL SynchroMed II.
    check_q(data["unaccounted_after_fill"], 2.0, "mL")
    assert data["findings"][0]["code"] == "REFILL-POCKET-FILL"


def test_refill_without_a_refill_section_is_an_input_error(run: Run) -> None:
    result = run("refill", example("seed003-case1-trial.toml"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: refill:")


# --- invalid input -----------------------------------------------------------------------------

FLEX_PLAN = """
at = 2024-01-01T08:00:00
[pump]
model = "SynchroMed II 8637-20"
[[admixture]]
drug = "baclofen"
concentration = "500 mcg/mL"
[schedule]
mode = "flex"
[[schedule.steps]]
start = "00:00"
dose = "100 mcg/d"
[[schedule.steps]]
start = "08:00"
dose = "60 mcg"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path


def one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_dose_without_time_base_names_the_field(run: Run, tmp_path: Path) -> None:
    line = one_line_error(run("plan", "check", write(tmp_path, FLEX_PLAN)))
    assert line.startswith("error: schedule.steps[1].dose: '60 mcg' has no time base")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (('model = "SynchroMed II 8637-20"', 'model = "Pump 9000"'), "pump.model", "unknown pump"),
        (('drug = "baclofen"', 'drug = "oxycodone"'), "admixture[0].drug", "unknown drug"),
        (('concentration = "500 mcg/mL"', "concentration = 500"), "admixture[0].concentration",
         "has no unit"),
        (('mode = "flex"', 'mode = "flex"\ncolour = "red"'), "schedule.colour", "unknown key"),
        (('start = "08:00"', 'start = "25:00"'), "schedule.steps[1].start", "time"),
        (("at = 2024-01-01T08:00:00", ""), "at", "is required"),
        (('dose = "60 mcg"', 'dose = "60 mcg/d"\nrate = "1 mL/d"'), "schedule.steps[1]",
         "exactly one"),
    ],
)  # fmt: skip
def test_bad_plans_give_one_line_naming_the_field(
    run: Run, tmp_path: Path, change: tuple[str, str], field: str, words: str
) -> None:
    text = FLEX_PLAN.replace('dose = "60 mcg"', 'dose = "60 mcg/d"', 1)
    if change[0] == 'dose = "60 mcg"':
        text = FLEX_PLAN
    text = text.replace(*change)
    line = one_line_error(run("plan", "show", write(tmp_path, text)))
    assert line.startswith(f"error: {field}: "), line
    assert words in line


def test_toml_syntax_error_and_missing_file(run: Run, tmp_path: Path) -> None:
    line = one_line_error(run("plan", "check", write(tmp_path, "at = [")))
    assert line.startswith("error: plan: ") and "not valid TOML" in line
    line = one_line_error(run("plan", "check", tmp_path / "nope.toml"))
    assert "file not found" in line


def test_json_mode_prints_the_error_as_json(run: Run, tmp_path: Path) -> None:
    result = run("--json", "plan", "check", write(tmp_path, FLEX_PLAN))
    assert result.exit_code == 2
    assert '"field": "schedule.steps[1].dose"' in result.stdout


def test_external_pump_fill_without_alarm_names_the_plan_field(run: Run, tmp_path: Path) -> None:
    text = example("seed003-case1-trial.toml").read_text()
    line = one_line_error(
        run("plan", "show", write(tmp_path, text.replace('low_reservoir_alarm = "5 mL"', "")))
    )
    assert line.startswith("error: pump.low_reservoir_alarm: ")


# --- libraries ---------------------------------------------------------------------------------

INSTITUTION = """
[[drugs]]
name = "hydromorphone"

[[drugs.limits]]
bound = "daily_dose_max"
value = "1.5 mg/d"
level = "hard"
source = "Example institution protocol (test data)"
"""


def test_institution_library_adds_a_limit(run_json: RunJson, tmp_path: Path) -> None:
    plan = example("seed003-case1-implant.toml")
    code, data = run_json("plan", "check", plan)
    assert code == 0 and "DOSE-DAILY-MAX" not in {f["code"] for f in data["findings"]}
    lib = tmp_path / "institution.toml"
    lib.write_text(INSTITUTION)
    code, data = run_json("--library", lib, "plan", "check", plan)
    # 1.999 mg/d hydromorphone > the institution's 1.5 mg/d hard limit.
    assert code == 3
    (hard,) = [f for f in data["findings"] if f["level"] == "hard"]
    assert hard["code"] == "DOSE-DAILY-MAX"
    assert hard["source"] == "Example institution protocol (test data)"
    check_q(hard["limit"], 1.5, "mg/d")
    check_q(hard["value"], 1.999, "mg/d")
    # The same file through $THECAL_LIBRARY.
    code, _ = run_json("plan", "check", plan, env={"THECAL_LIBRARY": str(lib)})
    assert code == 3


BAD_LIBRARY = """
[[drugs]]
name = "hydromorphone"
colour = "blue"

[[drugs.limits]]
bound = "daily_dose_max"
value = "1.5 mg"
level = "hard"
source = "x"

[[drugs.limits]]
bound = "weekly_max"
value = "1 mg/d"
level = "hard"
source = "x"

[[drugs]]
name = "newdrug"
"""


def test_library_check_reports_every_error_with_its_location(run: Run, tmp_path: Path) -> None:
    lib = tmp_path / "bad.toml"
    lib.write_text(BAD_LIBRARY)
    result = run("library", "check", lib)
    assert result.exit_code == 2
    errors = result.stderr.strip().splitlines()
    expected = [
        "drugs[0].colour: unknown key",
        "drugs[0].limits[0].value: '1.5 mg' has no time base",
        "drugs[0].limits[1].bound: got 'weekly_max'",
        "drugs[1].class: is required",
        "drugs[1].labelled_for_pump: is required",
        "drugs[1].source: is required",
    ]
    for text in expected:
        assert any(f"{lib}: {text}" in line for line in errors), (text, errors)
    assert len(errors) == len(expected)


def test_library_check_ok(run: Run, run_json: RunJson, tmp_path: Path) -> None:
    lib = tmp_path / "ok.toml"
    lib.write_text(INSTITUTION)
    result = run("library", "check", lib)
    assert result.exit_code == 0, result.output
    assert "hydromorphone" in result.stdout
    code, data = run_json("library", "check")
    assert code == 0 and data["ok"] is True
    assert {d["name"] for d in data["drugs"]} >= {"morphine", "ziconotide", "baclofen"}


def test_broken_library_in_a_plan_command_is_one_line(run: Run, tmp_path: Path) -> None:
    lib = tmp_path / "bad.toml"
    lib.write_text(BAD_LIBRARY)
    line = one_line_error(
        run("--library", lib, "plan", "check", example("seed003-case1-trial.toml"))
    )
    assert "thecal library check" in line


# --- convert -----------------------------------------------------------------------------------


def test_convert_is_a_sourced_estimate_range(run: Run, run_json: RunJson) -> None:
    result = run("convert", "60 mg/d", "--from", "oral", "--to", "intrathecal")
    assert result.exit_code == 0, result.output
    assert "estimate" in result.stdout.lower()
    assert "PMID 15055516" in " ".join(result.stdout.split())
    code, data = run_json("convert", "60 mg/d", "--from", "oral", "--to", "it")
    assert code == 0 and data["estimate"] is True
    # Widest sourced ratios: 60 ÷ 300 = 0.2 mg/d (Krames, and 3 × 10 × 10) to 60 ÷ 12 = 5 mg/d.
    check_q(data["low"], 0.2, "mg/d")
    check_q(data["high"], 5.0, "mg/d")
    assert all(r["source"] for r in data["ratios"])


def test_convert_between_drugs(run_json: RunJson) -> None:
    code, data = run_json(
        "convert", "6 mg/d", "--from", "it", "--to", "it", "--drug", "morphine",
        "--to-drug", "hydromorphone",
    )  # fmt: skip
    assert code == 0
    # 6 mg/d ÷ 6 = 1 mg/d to 6 ÷ 5 = 1.2 mg/d hydromorphone.
    check_q(data["low"], 1.0, "mg/d")
    check_q(data["high"], 1.2, "mg/d")


@pytest.mark.parametrize(
    ("args", "field"),
    [(("60 mg", "--from", "oral", "--to", "it"), "dose"),
     (("60 mg/d", "--from", "nasal", "--to", "it"), "--from")],
)  # fmt: skip
def test_convert_bad_input(run: Run, args: tuple[str, ...], field: str) -> None:
    line = one_line_error(run("convert", *args))
    assert line.startswith(f"error: {field}: ")


# --- schema, examples, demo --------------------------------------------------------------------


def test_committed_schema_is_the_generated_one(run: Run) -> None:
    committed = (ROOT / "docs" / "schema" / "plan.schema.json").read_text()
    assert committed == schema_text(), "run: thecal plan schema > docs/schema/plan.schema.json"
    result = run("plan", "schema")
    assert result.exit_code == 0 and result.stdout == schema_text()


def test_packaged_examples_are_the_repository_examples() -> None:
    packaged = ROOT / "src" / "thecal" / "data" / "examples"
    names = sorted(p.name for p in packaged.glob("*.toml"))
    assert names == sorted(p.name for p in EXAMPLES.glob("*.toml"))
    for name in names:
        assert (packaged / name).read_bytes() == (EXAMPLES / name).read_bytes(), name


def test_demo_runs_every_example_and_exits_0(run: Run, run_json: RunJson) -> None:
    result = run("demo")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())
    assert " ".join(NOT_A_MEDICAL_DEVICE.split()) in flat
    assert "1.2 mg/d" in flat and "2.5 mcg/d" in flat and "REFUSED" in flat
    code, data = run_json("demo")
    assert code == 0
    assert len(data["examples"]) == len(list(EXAMPLES.glob("*.toml")))
