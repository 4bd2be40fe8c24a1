"""The shipped scenarios reproduce the seeds: each runs, and its outcome is asserted."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from thecal.adapters.scenario_files import load_scenario, parse_scenario, scenario_names
from thecal.devices.alarms import AlarmCondition
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.log import EventKind
from thecal.implant.plant import CatheterState
from thecal.implant.scenario import ScenarioResult, run_scenario
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary
from thecal.units import Q_, InputError

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "scenarios"
PACKAGED = ROOT / "src" / "thecal" / "data" / "scenarios"
_cache: dict[str, ScenarioResult] = {}


def ml(q: Any) -> float:
    return float(q.to("mL").magnitude)


@pytest.fixture
def run(library: DrugLibrary, catalog: DeviceCatalog) -> Any:
    """Run a shipped scenario once per test session (some take most of a second)."""

    def go(name: str) -> ScenarioResult:
        if name not in _cache:
            _cache[name] = run_scenario(load_scenario(SCENARIOS / f"{name}.toml"), library, catalog)
        return _cache[name]

    return go


def codes(result: ScenarioResult, kind: str) -> list[list[Code]]:
    return [[f.code for f in r.findings] for r in result.reports if r.kind == kind]


def test_packaged_scenarios_are_the_repository_scenarios() -> None:
    repo = sorted(p.name for p in SCENARIOS.glob("*.toml"))
    assert repo == scenario_names()
    assert len(repo) >= 6
    for name in repo:
        assert (SCENARIOS / name).read_bytes() == (PACKAGED / name).read_bytes(), name


def test_seed000_calcification_shows_as_a_high_residual_at_the_next_refill(run: Any) -> None:
    r = run("seed000-catheter-calcification")
    refills = [x for x in r.reports if x.kind == "refill"]
    assert len(refills) == 2
    first, second = (dict(x.values) for x in refills)
    # Refill 1, day 56 (no fault yet): 20 - 56 x 0.3 = 3.2 mL expected and withdrawn.
    assert ml(first["expected_by_pump"]) == pytest.approx(3.2, abs=0.003)
    assert ml(first["withdrawn"]) == pytest.approx(3.2, abs=0.003)
    assert _not_info(refills[0].findings) == []
    # Refill 2, day 112: the pump still expects 3.2 mL; truth 4.2 mL (14 d before the occlusion)
    # + 42 d x 0.3 x 0.5 = 6.3 mL left the pump -> 20 - 10.5 = 9.5 mL withdrawn.
    assert ml(second["expected_by_pump"]) == pytest.approx(3.2, abs=0.003)
    assert ml(second["withdrawn"]) == pytest.approx(9.5, abs=0.003)
    found = {f.code: f for f in _not_info(refills[1].findings)}
    assert set(found) == {Code.DISCREPANCY_ABOVE_THRESHOLD, Code.DISCREPANCY_OUTSIDE_ACCURACY}
    assert all(f.level is Level.SOFT for f in found.values())
    # discrepancy 9.5 - 3.2 = 6.3 mL; delivery error (10.5 - 16.8) / 16.8 = -37.5 %.
    assert ml(found[Code.DISCREPANCY_ABOVE_THRESHOLD].value) == pytest.approx(6.3, abs=0.003)
    accuracy = found[Code.DISCREPANCY_OUTSIDE_ACCURACY].value
    assert accuracy is not None
    assert accuracy.to("percent").magnitude == pytest.approx(-37.5, abs=0.05)
    assert "higher than expected" in found[Code.DISCREPANCY_OUTSIDE_ACCURACY].message
    # The implanted pump never sensed it: no alarm in the whole run.
    assert r.alarm_periods == ()
    assert r.truth.catheter is CatheterState.PARTIAL_OCCLUSION


def test_seed003_trial_disconnect_empties_the_bag_but_not_into_the_csf(run: Any) -> None:
    r = run("seed003-trial-disconnect")
    # 0.5 mL/h: 48 h to the CSF = 24 mL; 24 h more into the tissue = 12 mL; stopped at 72 h.
    assert ml(r.truth.left_pump) == pytest.approx(36.0, abs=0.004)
    assert ml(r.truth.to_csf) == pytest.approx(24.0, abs=0.004)
    assert ml(r.truth.elsewhere) == pytest.approx(12.0, abs=0.004)
    assert ml(r.truth.reservoir) == pytest.approx(64.0, abs=0.004)
    doses = dict(r.doses_to_csf)
    # 24 mL x 0.1 mg/mL = 2.4 mg of each drug reached the CSF; 36 mL x 0.1 = 3.6 mg left the bag.
    assert doses["hydromorphone"].to("mg").magnitude == pytest.approx(2.4, abs=0.001)
    assert doses["bupivacaine"].to("mg").magnitude == pytest.approx(2.4, abs=0.001)
    assert dict(r.doses_left_pump)["hydromorphone"].to("mg").magnitude == pytest.approx(3.6, 1e-3)
    # Nothing the pump can sense: no alarm; the pump's own count matches what left the bag.
    assert r.alarm_periods == ()
    assert ml(r.status.delivered_total) == pytest.approx(36.0, abs=0.004)
    assert not r.status.delivering and "stopped by clinician" in r.status.holds


def test_seed003_delayed_refill_empty_alarm_then_restart_tolerance(run: Any) -> None:
    r = run("seed003-delayed-refill")
    raised = [
        e
        for e in r.device_events(EventKind.ALARM_RAISED)
        if e.alarm is AlarmCondition.EMPTY_RESERVOIR
    ]
    assert len(raised) == 1
    # 20 mL / 0.3 mL/d = 66.667 d after 2024-01-01 09:00 -> 2024-03-08 01:00 (1 stroke early).
    empty_at = datetime(2024, 1, 1, 9) + timedelta(days=20 / 0.3)
    assert abs((raised[0].time - empty_at).total_seconds()) < 5 * 60
    repeats = [
        e
        for e in r.device_events(EventKind.ALARM_REPEATED)
        if e.alarm is AlarmCondition.EMPTY_RESERVOIR
    ]
    # Critical repeats every 10 min from 03-08 01:00 until acknowledged on 03-16 09:06: 8 d 8 h.
    assert len(repeats) == pytest.approx((8 * 24 + 8) * 6, abs=2)
    refill = next(x for x in r.reports if x.kind == "refill")
    restart = [f for f in refill.findings if f.code is Code.RESTART_AFTER_INTERRUPTION]
    assert len(restart) == 1 and restart[0].level is Level.SOFT
    # Ran empty at 66.667 d, refilled at 75 d: 8.333 d = 200 h without morphine.
    assert "200 h" in restart[0].message
    # Proposed restart: the labelled opioid-naive maximum, 1 mg/d, instead of 3 mg/d.
    assert restart[0].limit is not None and restart[0].value is not None
    assert restart[0].limit.to("mg/d").magnitude == pytest.approx(1.0)
    assert restart[0].value.to("mg/d").magnitude == pytest.approx(3.0)
    program = next(x for x in r.reports if x.kind == "program")
    assert program.sent and "1 mg/d" in program.summary
    # 20 mL, then 15 d at 0.1 mL/d after the restart (75 d -> 90 d) = 21.5 mL to the CSF.
    assert ml(r.truth.to_csf) == pytest.approx(21.5, abs=0.003)
    # The pump commanded 2.5 mL more than left it: 8.333 d x 0.3 mL/d while empty.
    assert ml(r.status.delivered_total) - ml(r.truth.left_pump) == pytest.approx(2.5, abs=0.003)


def test_mri_valve_gated_not_emptied_dumps_the_reservoir(run: Any) -> None:
    r = run("mri-valve-gated-not-emptied")
    dump = next(e for e in r.log if e.source == "scenario" and "magnet" in e.message)
    # Day 30: 20 - 30 x 0.3 = 11 mL dumped = 110 mg morphine.
    assert ml(dict(dump.values)["dumped"]) == pytest.approx(11.0, abs=0.003)
    assert "110 mg morphine" in dump.message
    refill = next(x for x in r.reports if x.kind == "refill")
    values = dict(refill.values)
    # The pump never knew: it expected 20 - 30.125 x 0.3 = 10.9625 mL; 0 mL was withdrawn.
    assert ml(values["expected_by_pump"]) == pytest.approx(10.9625, abs=0.003)
    assert ml(values["withdrawn"]) == 0.0
    found = {f.code: f for f in _not_info(refill.findings)}
    assert set(found) == {Code.DISCREPANCY_ABOVE_THRESHOLD, Code.DISCREPANCY_OUTSIDE_ACCURACY}
    assert "lower than expected" in found[Code.DISCREPANCY_OUTSIDE_ACCURACY].message


def test_mri_valve_gated_emptied_first_dumps_nothing(run: Any) -> None:
    emptied = run("mri-valve-gated-emptied")
    dumped = run("mri-valve-gated-not-emptied")
    assert not any("magnet" in e.message for e in emptied.log)
    refill = next(x for x in emptied.reports if x.kind == "refill")
    # Emptied 20 - 29.958 x 0.3 = 11.0125 mL; the refill checks that against 10.9625 mL.
    assert ml(dict(refill.values)["withdrawn"]) == pytest.approx(11.0125, abs=0.003)
    assert _not_info(refill.findings) == []
    # Same pump, same dates: the dump put 11 mL more into the CSF.
    extra = ml(dumped.truth.to_csf) - ml(emptied.truth.to_csf)
    assert extra == pytest.approx(11.0125, abs=0.003)


def test_eri_then_end_of_service_ninety_days_later(run: Any) -> None:
    r = run("eri-to-stop")
    eri = r.device_events(EventKind.ERI)
    eos = r.device_events(EventKind.EOS)
    assert len(eri) == 1 and len(eos) == 1
    start = datetime(2019, 1, 1, 9)
    # At the 1 mL/d calibration flow: ERI after life_min - 90 d = 1826.25 - 90 = 1736.25 d, less
    # the 100 telemetry sessions before it (50 refills + 50 acknowledgements), each worth 5 min
    # of quiescent drain: 500 min x (1736.25 / 2466.75) = 5.865 h earlier.
    expected = start + timedelta(days=1736.25) - timedelta(hours=500 / 60 * 1736.25 / 2466.75)
    assert abs((eri[0].time - expected).total_seconds()) < 120
    assert eos[0].time - eri[0].time == timedelta(days=90)
    assert r.status.eos_at == eos[0].time
    assert not r.status.delivering and "end of service" in r.status.holds
    active = {a.condition for a in r.status.alarms}
    assert AlarmCondition.END_OF_SERVICE in active
    # Nothing delivered after EOS: the pump's count equals the truth at EOS and stays there.
    series = r.series
    after = [i for i, t in enumerate(series.times) if t >= eos[0].time]
    assert len(after) > 2
    left = series.left_pump.to("mL").magnitude
    assert left[after[-1]] == pytest.approx(left[after[0]], abs=1e-9)


def test_mri_peristaltic_waits_for_the_post_mri_interrogation(run: Any) -> None:
    r = run("mri-peristaltic")
    kinds = [e.kind for e in r.log if e.source == "device"]
    assert EventKind.POST_MRI_HOLD.value in kinds
    resumed = r.device_events(EventKind.POST_MRI_RESUME)
    assert resumed and resumed[0].time == datetime(2024, 3, 3, 9)
    refill = next(x for x in r.reports if x.kind == "refill")
    # 24 h without drug: 61 d x 0.3 = 18.3 mL left -> 1.7 mL withdrawn, as the pump expected.
    assert ml(dict(refill.values)["withdrawn"]) == pytest.approx(1.7, abs=0.003)
    assert ml(dict(refill.values)["expected_by_pump"]) == pytest.approx(1.7, abs=0.003)


def test_series_is_sampled_at_events_not_per_minute(run: Any) -> None:
    r = run("seed003-delayed-refill")
    s = r.series
    # 90 d: at most ~500 step samples + 2 per action, never one per minute (129,600).
    assert 100 < len(s.times) < 600
    assert list(s.times) == sorted(s.times)
    est = s.reservoir_estimate.to("mL").magnitude
    true = s.reservoir_true.to("mL").magnitude
    assert len(est) == len(true) == len(s.times)
    assert max(true) == pytest.approx(20.0)
    # The refill shows as a jump between the samples taken before and after it.
    i = s.times.index(datetime(2024, 3, 16, 9, 5))
    assert true[i] == pytest.approx(0.0, abs=1e-9) and true[i + 1] == pytest.approx(20.0)


def test_same_seed_same_run_and_seed_draws_the_bias(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    sc = load_scenario(SCENARIOS / "seed000-catheter-calcification.toml")
    drawn = sc.model_copy(update={"device": sc.device.model_copy(update={"flow_bias": "draw"})})
    a = run_scenario(drawn, library, catalog, Q_(60, "d"), seed=7)
    b = run_scenario(drawn, library, catalog, Q_(60, "d"), seed=7)
    c = run_scenario(drawn, library, catalog, Q_(60, "d"), seed=8)
    assert a.flow_bias == b.flow_bias != c.flow_bias
    assert -0.15 <= a.flow_bias <= 0.15  # Prometra II: the labelled ±15 % band
    assert a.log == b.log and ml(a.truth.reservoir) == ml(b.truth.reservoir)


BASE = {
    "start": "2024-01-01T09:00:00",
    "until": "10 d",
    "device": {"model": "SynchroMed II 8637-20", "stroke_volume": "0.001 mL",
               "critical_alarm_repeat": "10 min"},
    "admixture": [{"drug": "morphine", "concentration": "10 mg/mL"}],
    "schedule": {"mode": "continuous", "dose": "3 mg/d"},
    "fill": {"volume": "20 mL"},
}  # fmt: skip


def with_(**changes: Any) -> dict[str, Any]:
    data = dict(BASE)
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (with_(devic={}), "devic"),
        (with_(until="10"), "until"),
        (with_(fill={"volume": "20"}), "fill.volume"),
        (with_(faults=[{"kind": "occlusion", "at": "1 d"}]), "faults[0]"),
        (with_(faults=[{"kind": "flood", "at": "1 d"}]), "faults[0].kind"),
        (with_(actions=[{"kind": "refill", "at": "1 d", "volume": "20 mL", "alarm": "x"}]),
         "actions[0].alarm"),
        (with_(actions=[{"kind": "stop", "at": "1 d", "volume": "1 mL"}]), "actions[0]"),
        (with_(actions=[{"kind": "program", "at": "1 d"}]), "actions[0]"),
    ],
)  # fmt: skip
def test_bad_scenario_names_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        parse_scenario(data)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (with_(device={**BASE["device"], "model": "Nope"}), "device.model"),
        (with_(device={"model": "SynchroMed II 8637-20", "critical_alarm_repeat": "10 min"}),
         "device.stroke_volume"),
        (with_(fill={"volume": "25 mL"}), "fill.volume"),
        (with_(actions=[{"kind": "refill", "at": "1 d", "volume": "30 mL"}]),
         "actions[0].volume"),
        (with_(actions=[{"kind": "stop", "at": datetime(2023, 1, 1)}]), "actions[0].at"),
        (with_(admixture=[{"drug": "unobtainium", "concentration": "1 mg/mL"}]),
         "admixture[0].drug"),
        (with_(actions=[{"kind": "program", "at": "1 d", "schedule": {
            "mode": "continuous", "dose": "1 mg/d", "drug": "baclofen"}}]),
         "actions[0].schedule.dose"),
    ],
)  # fmt: skip
def test_bad_values_found_while_running_name_the_field(
    data: dict[str, Any], field: str, library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    with pytest.raises(InputError) as err:
        run_scenario(parse_scenario(data), library, catalog)
    assert err.value.field == field


def test_program_refused_by_a_hard_finding_is_never_sent(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Opioid-naive patient with a patient-activated morphine bolus: contraindicated (hard).
    sc = parse_scenario(
        with_(
            patient={"opioid_naive": True},
            actions=[
                {
                    "kind": "program",
                    "at": "1 d",
                    "patient_bolus": {
                        "volume": "0.01 mL",
                        "duration": "10 min",
                        "lockout": "4 h",
                        "max_per_day": 2,
                    },
                },
                {"kind": "patient_bolus", "at": "25 h", "per_day": 4},
            ],
        )
    )
    r = run_scenario(sc, library, catalog)
    program = next(x for x in r.reports if x.kind == "program")
    assert not program.sent and program.blocked
    assert Code.OPIOID_BOLUS_OPIOID_NAIVE in [f.code for f in program.findings]
    assert r.device_events(EventKind.PTB_GRANTED) == ()
    denied = r.device_events(EventKind.PTB_DENIED)
    # 4 a day from day 1 + 1 h to day 10: 9 d - 1 h at 6 h intervals -> 36 requests, all denied.
    assert len(denied) == 36


def _not_info(findings: Any) -> list[Any]:
    """Hard and soft findings (info, such as a pump's unpublished maximum rate, aside)."""
    return [f for f in findings if f.level is not Level.INFO]
