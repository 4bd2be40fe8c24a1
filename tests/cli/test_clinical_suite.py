"""An independent clinical suite run against the CLI (`thecal --json plan show` / `refill` /
`convert`): each case is a plan a clinician could write, with the answer worked out by hand in
its comment. It checks what the tool says, not how: the exit code (0 allowed, 3 refused, 2 bad
input), the finding codes, and the numbers a nurse would read off."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

PUMP20 = '[pump]\nmodel = "SynchroMed II 8637-20"\n'
TOLERANT = "[patient]\nopioid_naive = false\ncancer_pain = false\n"


def _plan(body: str, at: str = "2026-11-02T09:00:00", start: str = "false") -> str:
    return f"at = {at}\nstart = {start}\n{body}"


def _admixture(*pairs: tuple[str, str]) -> str:
    return "".join(f'[[admixture]]\ndrug = "{d}"\nconcentration = "{c}"\n' for d, c in pairs)


def _previous(schedule: str, started: str = "2026-10-01T09:00:00") -> str:
    return f"[previous]\nstarted = {started}\n[previous.schedule]\n{schedule}"


def _codes(out: dict[str, Any]) -> dict[str, str]:
    return {f["code"]: f["level"] for f in out["findings"]}


@pytest.fixture
def show(
    run: Callable[..., Result], tmp_path: Path
) -> Callable[..., tuple[int, dict[str, Any] | str]]:
    def invoke(text: str, command: str = "plan show") -> tuple[int, dict[str, Any] | str]:
        path = tmp_path / "case.toml"
        path.write_text(text)
        result = run("--json", *command.split(), path)
        if result.exit_code == 2:
            return 2, result.output
        return result.exit_code, json.loads(result.stdout)

    return invoke


def test_morphine_maintenance_numbers(show: Callable[..., Any]) -> None:
    # 0.5 mL/d x 10 mg/mL = 5 mg/d; a 20 mL fill reaches the 2 mL alarm after 18 / 0.5 = 36 d.
    code, out = show(_plan(TOLERANT + PUMP20 + _admixture(("morphine", "10 mg/mL"))
                           + 'mode = "continuous"\n'.join(["[schedule]\n", 'rate = "0.5 mL/d"\n'])
                           + '[fill]\nvolume = "20 mL"\nat = 2026-11-02T09:00:00\n'))  # fmt: skip
    assert code == 0, out
    assert out["daily_dose"]["drugs"]["morphine"]["nominal"] == {"value": 5.0, "unit": "mg/d"}
    assert out["refill"]["low_alarm_nominal"][:16] == "2026-12-08T09:00"


def test_decimal_comma_is_refused_not_read_as_ten_times(show: Callable[..., Any]) -> None:
    # "2,5 mL/d" must never become 25 mL/d: exit 2 naming the field and the accepted form.
    code, out = show(_plan(TOLERANT + PUMP20 + _admixture(("morphine", "10 mg/mL"))
                           + '[schedule]\nrate = "2,5 mL/d"\n'))  # fmt: skip
    assert code == 2 and "schedule.rate" in out and "2.5" in out


@pytest.mark.parametrize("value", ["inf mg/d", "nan mg/d", "2 mg/d + 3 mg/d", "5 mg/d * 9**9"])
def test_non_numbers_and_expressions_are_bad_input(show: Callable[..., Any], value: str) -> None:
    code, out = show(_plan(TOLERANT + PUMP20 + _admixture(("morphine", "10 mg/mL"))
                           + f'[schedule]\ndose = "{value}"\n'))  # fmt: skip
    assert code == 2 and "schedule.dose" in out


@pytest.mark.parametrize(
    ("pump", "dose"), [("SynchroMed II 8637-20", "500 mg/d"), ("Curlin 6000 CMS", "12000 mg/d")]
)
def test_gross_morphine_doses_are_refused(show: Callable[..., Any], pump: str, dose: str) -> None:
    # Ten times the dose above which the Infumorph label advises caution (20 mg/d) is 200 mg/d.
    code, out = show(_plan(TOLERANT + f'[pump]\nmodel = "{pump}"\n'
                           + _admixture(("morphine", "25 mg/mL"))
                           + f'[schedule]\ndose = "{dose}"\n'))  # fmt: skip
    assert code == 3 and _codes(out)["DOSE-ENTRY-CEILING"] == "hard"


def test_morphine_typed_hundred_times_too_strong_is_refused(show: Callable[..., Any]) -> None:
    # 2500 mg/mL: a hundred times the strongest morphine that exists (Infumorph 25 mg/mL).
    code, out = show(_plan(TOLERANT + '[pump]\nmodel = "Prometra II 20 mL"\n'
                           + _admixture(("morphine", "2500 mg/mL"))
                           + '[schedule]\ndose = "5 mg/d"\n'))  # fmt: skip
    assert code == 3 and _codes(out)["CONC-ENTRY-CEILING"] == "hard"


def test_baclofen_per_hour_for_per_day_is_refused(show: Callable[..., Any]) -> None:
    # 300 mcg/d before; "300 mcg/h" now = 7200 mcg/d: x24, the ISMP per-hour slip.
    code, out = show(_plan(PUMP20 + _admixture(("baclofen", "2000 mcg/mL"))
                           + '[schedule]\ndose = "300 mcg/h"\n'
                           + _previous('dose = "300 mcg/d"\n')))  # fmt: skip
    assert code == 3
    assert _codes(out)["SLIP-DOSE"] == "hard"
    slip = next(f for f in out["findings"] if f["code"] == "SLIP-DOSE")
    assert "x24" in slip["message"]


def test_hydromorphone_high_dose_needs_a_reason(show: Callable[..., Any]) -> None:
    # 10 mL/d would be absurd; 10 mg/d -> 100 mg/d is x10 (a slip). Here a start at 100 mg/d:
    # above the published 25 mg/d range (soft), below the 250 mg/d entry-error ceiling.
    code, out = show(_plan(TOLERANT + PUMP20 + _admixture(("hydromorphone", "10 mg/mL"))
                           + '[schedule]\ndose = "100 mg/d"\n', start="true"))  # fmt: skip
    assert code == 0
    assert _codes(out)["DOSE-DAILY-MAX"] == "soft"
    assert "DOSE-DAILY-MAX" in out["needs_reason"]


def test_fentanyl_is_never_no_findings(show: Callable[..., Any]) -> None:
    code, out = show(_plan(TOLERANT + PUMP20 + _admixture(("fentanyl", "50 mcg/mL"))
                           + '[schedule]\ndose = "100 mcg/d"\n'))  # fmt: skip
    assert code == 0 and _codes(out)["NO-DOSE-LIMITS"] == "soft"


def test_withdrawing_more_than_the_reservoir_holds_is_refused(show: Callable[..., Any]) -> None:
    # A 20 mL SynchroMed cannot give back 25 mL (capacity 20 mL + 1 mL reading tolerance).
    body = (TOLERANT + PUMP20 + _admixture(("morphine", "10 mg/mL"))
            + '[schedule]\ndose = "3 mg/d"\n'
            + '[refill]\nwithdrawn = "25 mL"\nfilled = "20 mL"\n'
            + '[refill.last_fill]\nvolume = "20 mL"\nat = 2026-10-01T09:00:00\n')  # fmt: skip
    code, out = show(_plan(body), command="refill")
    assert code == 3
    assert _codes(out)["REFILL-WITHDRAWN-OVER-CAPACITY"] == "hard"


def test_routine_refill_arithmetic(show: Callable[..., Any]) -> None:
    # 3 mg/d at 10 mg/mL = 0.3 mL/d; 31 d since the 20 mL fill: 9.3 mL delivered, 10.7 mL
    # expected; 10.2 mL withdrawn -> -0.5 mL; next alarm (2 mL) after 18 / 0.3 = 60 d.
    body = (TOLERANT + PUMP20 + _admixture(("morphine", "10 mg/mL"))
            + '[schedule]\ndose = "3 mg/d"\n'
            + '[refill]\nwithdrawn = "10.2 mL"\nfilled = "20 mL"\n'
            + '[refill.last_fill]\nvolume = "20 mL"\nat = 2026-10-02T09:00:00\n')  # fmt: skip
    code, out = show(_plan(body), command="refill")
    assert code == 0, out
    assert out["expected_remaining"]["value"] == pytest.approx(10.7)
    assert out["discrepancy"]["value"] == pytest.approx(-0.5)
    # (the date is found by bisection to 0.1 s: compare to the minute)
    assert out["next_refill"]["low_alarm_nominal"][:16] == "2027-01-01T09:00"


def test_a_routine_mri_stop_proposes_no_dose_cut(show: Callable[..., Any]) -> None:
    # A 2 h rotor stop: far shorter than the 3 d after which tolerance may be lost; the same
    # 5 mg/d resumes without a proposed cut to the opioid-naive range.
    body = (TOLERANT + PUMP20 + _admixture(("morphine", "10 mg/mL"))
            + '[schedule]\ndose = "5 mg/d"\n' + _previous('dose = "5 mg/d"\n')
            + '[interruption]\nstart = 2026-11-02T07:00:00\nend = 2026-11-02T09:00:00\n'
            + 'cause = "MRI"\n')  # fmt: skip
    code, out = show(_plan(body))
    assert code == 0
    restart = [f for f in out["findings"] if f["code"] == "RESTART-TOLERANCE"]
    assert all("1 mg/d" not in f["message"] for f in restart)


def test_convert_refuses_not_a_number(run: Callable[..., Result]) -> None:
    result = run("convert", "nan mg/d", "--from", "oral", "--to", "intrathecal")
    assert result.exit_code == 2 and "Traceback" not in result.output
