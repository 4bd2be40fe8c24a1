"""The programmer CLI commands beyond the main flow, against a served implant: alarm test,
clock (drift, --set), MRI checklist, priming bolus, refill with a new concentration."""

from pathlib import Path

from typer.testing import CliRunner, Result

from tests.e2e.helpers import make_app

# The served implant's clock starts at the plan's 'at' (2024-01-01 08:00) and follows wall time.
START = "2024-01-01T08:00:00"


def _run(served: tuple[int, Path, Path], *args: str) -> Result:
    port, clinician, _ = served
    common = ["--port", str(port), "--ack-timeout", "3", "--key", str(clinician)]
    return CliRunner().invoke(make_app(), ["programmer", *args, *common])


def test_alarm_test_cli(served: tuple[int, Path, Path]) -> None:
    res = _run(served, "alarm-test")
    assert res.exit_code == 0, res.output
    assert res.output.count("tone:") == 2  # SynchroMed: critical and non-critical tones


def test_clock_cli_drift_and_set(served: tuple[int, Path, Path]) -> None:
    ok = _run(served, "clock", "--tolerance", "10 min", "--reference", START)
    assert ok.exit_code == 0, ok.output
    assert "within" in ok.output
    # Reference one hour ahead: the implant is ~3600 s behind, outside ±10 min.
    ahead = "2024-01-01T09:00:00"
    drift = _run(served, "clock", "--tolerance", "10 min", "--reference", ahead)
    assert drift.exit_code == 3, drift.output
    assert "OUTSIDE" in drift.output and "drift: -3" in drift.output
    fixed = _run(served, "clock", "--tolerance", "10 min", "--reference", ahead, "--set")
    assert fixed.exit_code == 0, fixed.output
    assert "implant clock set to 2024-01-01 09:00:00" in fixed.output
    again = _run(served, "clock", "--tolerance", "10 min", "--reference", ahead)
    assert again.exit_code == 0 and "within" in again.output
    bad = _run(served, "clock", "--tolerance", "2 mL")
    assert bad.exit_code == 2 and "--tolerance" in bad.output


def test_mri_cli_before_and_after(served: tuple[int, Path, Path]) -> None:
    before = _run(served, "mri", "--before")
    assert before.exit_code == 0, before.output
    assert "ready for the MRI" in before.output and "never stop it" in before.output
    assert "[x] pump not programmed to 'stopped'" in before.output
    after = _run(served, "mri", "--after")
    assert after.exit_code == 0, after.output
    assert "delivery resumed after the MRI" in after.output
    assert "[x] post-MRI resume sent" in after.output
    neither = _run(served, "mri")
    assert neither.exit_code == 2


def test_priming_bolus_cli(served: tuple[int, Path, Path]) -> None:
    # Catheter volume is a test input (Medtronic catheter volume per cm is not public).
    res = _run(
        served, "priming-bolus", "--catheter-volume", "0.05 mL", "--duration", "1 h", "--yes"
    )
    assert res.exit_code == 0, res.output
    assert "priming volume: 0.05 mL" in res.output
    assert "priming bolus of 0.05 mL over 1 h started" in res.output


def test_refill_cli_new_concentration_shows_bridge(served: tuple[int, Path, Path]) -> None:
    base = ["refill", "--withdrawn", "19.5 mL", "--fill", "20 mL", "--drug", "morphine=20 mg/mL"]
    # The refill goes through the gate like a program: the opioid status is not recorded and
    # the program has opioid patient boluses, a soft finding that needs a reason.
    base += ["--reason", "PTB-OPIOID-STATUS-UNKNOWN=opioid-tolerant, per the referral letter"]
    # Twice the concentration at the same rate doubles the dose until the program is rewritten.
    base += ["--reason", "TITR-PERCENT-MAX=program rewritten at half the rate"]
    missing = _run(served, *base)
    assert missing.exit_code == 2 and "--catheter-volume" in missing.output
    # Test inputs: catheter 0.2 mL; SynchroMed internal volume (not public) 0.25 mL.
    res = _run(served, *base, "--catheter-volume", "0.2 mL", "--internal-volume", "0.25 mL")
    assert res.exit_code == 0, res.output
    # 1 mg/d at 10 mg/mL = 0.1 mL/d; intended at 20 mg/mL = 2 mg/d; bridge rate 2 mg/d ÷
    # 10 mg/mL = 0.2 mL/d; dead volume 0.45 mL ÷ 0.2 mL/d = 2.25 d = 54 h.
    assert "bridge bolus: 0.45 mL at 0.2 mL/d for 54 h" in res.output, res.output
    assert "old admixture" in res.output and "next refill by" in res.output
