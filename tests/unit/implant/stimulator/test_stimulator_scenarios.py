"""The shipped stimulator scenarios run, and their outcomes are asserted."""

from datetime import datetime
from pathlib import Path

import pytest

from tests.unit.implant.stimulator.helpers import catalog
from thecal.adapters.scenario_files import scenario_names
from thecal.adapters.stimulator_scenario_files import (
    find_stimulator_scenario,
    mri_entries,
    stimulator_scenario_names,
)
from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind
from thecal.devices.refusals import DeviceRefusal
from thecal.devices.stimulator import ReadingFlag, TherapyState
from thecal.implant.stimulator_scenario import StimulatorResult, run_stimulator_scenario
from thecal.units import Q_, InputError

_cache: dict[str, StimulatorResult] = {}


def run(name: str) -> StimulatorResult:
    if name not in _cache:
        _cache[name] = run_stimulator_scenario(
            find_stimulator_scenario(name)[1], catalog(), mri_entries()
        )
    return _cache[name]


def ohm(report: object, label: str) -> float:
    return float(report.get(label).impedance.to("ohm").magnitude)  # type: ignore[attr-defined]


def raised(r: StimulatorResult, condition: AlarmCondition) -> list[datetime]:
    return [e.at for e in r.log if e.kind is EventKind.ALARM_RAISED and e.alarm is condition]


def test_stimulator_scenarios_are_shipped_apart_from_the_pump_scenarios() -> None:
    names = stimulator_scenario_names()
    assert len(names) == 5
    assert not set(names) & set(scenario_names())


def test_calcification_case_primary_ipg_rising_impedance_to_end_of_service() -> None:
    r = run("seed000-ipg-end-of-service")
    first, last = r.impedance[0], r.impedance[-1]
    # Contacts 900 Ohm rising 120 Ohm/year, case 150 Ohm: the monopolar reading of L1:3 the
    # day after start is 900 + 150 = 1050 Ohm; every later test reads higher.
    assert ohm(first, "L1:3") == pytest.approx(1050, abs=1)
    readings = [ohm(x, "L1:3") for x in r.impedance]
    assert readings == sorted(readings) and readings[-1] > 1300
    assert last.get("L1:3").flag is ReadingFlag.IN_RANGE
    s = r.status
    assert s.eri_at is not None and s.eos_at is not None and s.eri_at < s.eos_at
    assert datetime(2022, 1, 1) < s.eos_at < datetime(2023, 2, 1)  # before the replacement
    assert s.therapy is TherapyState.END_OF_SERVICE
    assert raised(r, AlarmCondition.ELECTIVE_REPLACEMENT) == [s.eri_at]
    assert raised(r, AlarmCondition.END_OF_SERVICE) == [s.eos_at]
    late = [x for x in r.reports if x.time > s.eos_at and x.kind == "impedance_test"]
    assert late and all(x.result and x.result.refusal is DeviceRefusal.END_OF_SERVICE for x in late)


def test_dialysis_pocket_calcification_clamps_then_relocation_restores() -> None:
    r = run("seed001-dialysis-pocket-relocation")
    before = [x for x in r.impedance if x.at < datetime(2016, 3, 1)]
    after = [x for x in r.impedance if x.at > datetime(2016, 3, 1)]
    # Monopolar (contact + case) rises fast; bipolar (two contacts) only with the lead's slow
    # 40 Ohm/year: the rise is in the pocket.
    mono = ohm(before[-1], "L1:4") - ohm(before[0], "L1:4")
    bi = ohm(before[-1], "L1:3-L1:4") - ohm(before[0], "L1:3-L1:4")
    assert mono > 1000 and bi < 300
    clamps = [e for e in r.log if e.kind is EventKind.AMPLITUDE_CLAMPED]
    assert clamps and all(e.at < datetime(2016, 3, 1) for e in clamps)
    # 10 V / 2000 Ohm = 5 mA: the first clamp comes once the path exceeds 2000 Ohm.
    assert clamps[0].quantity("safe_max") < Q_(5, "mA")
    assert raised(r, AlarmCondition.AMPLITUDE_LIMITED)
    assert ohm(after[0], "L1:4") < 1200  # the fresh pocket: 800 + 3 y x 40 + 150
    assert r.status.therapy is TherapyState.STIMULATING
    assert dict(r.status.amplitudes)["legs"] == Q_(5, "mA")  # the clinician restored it
    assert not r.status.alarms  # acknowledged and resolved: cleared


def test_lead_fracture_found_at_the_next_test_and_group_b_avoids_it() -> None:
    r = run("lead-fracture")
    disabled = [e for e in r.log if e.kind is EventKind.CONTACT_DISABLED]
    assert [e.alarm for e in disabled] == [AlarmCondition.OPEN_CIRCUIT]
    assert disabled[0].at == datetime(2025, 5, 6, 9)  # the test on day 120, not the break (100)
    assert r.impedance[-1].get("L1:3").flag is ReadingFlag.ABOVE_WINDOW
    assert r.status.disabled_contacts == ("L1:3",)
    assert r.status.group == "B" and r.status.therapy is TherapyState.STIMULATING


def test_insulation_breach_short_then_the_patient_selects_group_b() -> None:
    r = run("insulation-breach")
    assert [e.alarm for e in r.log if e.kind is EventKind.CONTACT_DISABLED] == [
        AlarmCondition.SHORT_CIRCUIT
    ]
    assert ohm(r.impedance[-1], "L1:2") == pytest.approx(210)  # 60 Ohm breach + 150 Ohm case
    selected = [e for e in r.log if e.kind is EventKind.GROUP_SELECTED]
    assert selected and "(patient)" in selected[0].message
    assert r.status.therapy is TherapyState.STIMULATING


def test_rechargeable_patient_stops_charging() -> None:
    r = run("rechargeable-stops-charging")
    needed = raised(r, AlarmCondition.RECHARGE_NEEDED)
    depleted = [e.at for e in r.log if e.kind is EventKind.BATTERY_DEPLETED]
    resumed = [e.at for e in r.log if e.kind is EventKind.STIMULATION_ON]
    last_charge = datetime(2025, 7, 7, 9)  # day 182
    assert len(needed) == 1 and len(depleted) == 1 and len(resumed) == 1
    assert last_charge < needed[0] < depleted[0] < resumed[0]
    assert resumed[0] == datetime(2025, 11, 2, 9)  # the charge on day 300
    assert r.status.therapy is TherapyState.STIMULATING and r.status.eos_at is None


def test_a_bad_scenario_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\nstart = 2025-01-01T00:00:00\nuntil = "1 d"\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        find_stimulator_scenario(str(bad))
    assert err.value.field in {"device", "battery", "ipg", "leads", "plant", "groups"}
