"""The scenario runner's event kinds end to end, cycling in the energy, and repeats."""

import copy
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.unit.implant.stimulator.helpers import RECHARGEABLE, catalog, device, later, scenario
from thecal.adapters.stimulator_scenario_files import mri_entries
from thecal.devices.log import EventKind
from thecal.devices.refusals import DeviceRefusal
from thecal.devices.stimulator import TherapyState
from thecal.implant.stimulator_scenario import run_stimulator_scenario
from thecal.stimulation.program import Cycling
from thecal.units import Q_, InputError


def test_every_event_kind_runs_and_reports() -> None:
    data = copy.deepcopy(RECHARGEABLE)
    data["events"] = [
        {"at": "1 d", "kind": "impedance_test"},
        {"at": "2 d", "kind": "stimulation_off", "patient": True},
        {"at": "3 d", "kind": "stimulation_on", "patient": True},
        {"at": "4 d", "kind": "amplitude", "area": "back", "amplitude": "3.5 mA", "patient": True},
        {"at": "5 d", "kind": "select_group", "group": "B"},
        {"at": "6 d", "kind": "migration", "lead": "L1"},
        {"at": "7 d", "kind": "mri_scan"},  # no MRI labelling: power-on reset
        {"at": "8 d", "kind": "write_group", "group": "A"},
        {"at": "9 d", "kind": "mri_mode_on"},
        {"at": "10 d", "kind": "acknowledge"},
        {"at": "11 d", "kind": "interrogate"},
        {"at": "12 d", "kind": "short", "contact": "L1:5", "impedance": "40 Ohm"},
        {"at": "13 d", "kind": "repair", "contact": "L1:5"},
        {"at": "14 d", "kind": "relocate_ipg", "case_impedance": "200 Ohm"},
        {"at": "15 d", "kind": "charge", "duration": "1 h", "every": "5 d", "until": "25 d"},
    ]
    r = run_stimulator_scenario(scenario(data), catalog(), mri_entries())
    kinds = [x.kind for x in r.reports if x.index >= 0]
    assert kinds[:14] == [e["kind"] for e in data["events"][:14]]
    assert kinds.count("charge") == 3  # days 15, 20, 25
    assert r.uncovered == ("L1",)
    assert EventKind.POWER_ON_RESET in r.kinds()
    mri = next(x for x in r.reports if x.kind == "mri_mode_on")
    assert mri.result is not None and mri.result.refusal is DeviceRefusal.UNSUPPORTED
    assert r.status.group == "A" and r.status.therapy is TherapyState.STIMULATING
    assert len(r.samples) >= 5


def test_a_write_group_event_names_an_unknown_group() -> None:
    data = copy.deepcopy(RECHARGEABLE)
    data["events"] = [{"at": "1 d", "kind": "write_group", "group": "Z"}]
    with pytest.raises(InputError) as err:
        run_stimulator_scenario(scenario(data), catalog(), mri_entries())
    assert err.value.field == "events[0].group"


def test_cycling_enters_the_energy_as_its_duty() -> None:
    dev = device(write=False)
    p = dev.groups["A"]
    cycled = replace(p, areas=(replace(p.areas[0], cycling=Cycling(Q_(30, "s"), Q_(90, "s"))),))
    assert dev.write_group("A", cycled).state_changed
    later(dev, days=1)
    # 3 mA through 1600 Ohm for 300 us: 4.32 uJ x 50 Hz = 216 uW while on; duty 30 / 120 =
    # 0.25 -> 54 uW; / 50 % = 108 uW; + 20 uW = 128 uW; a day: 128e-6 x 86400 = 11.06 J.
    assert dev.plant.used_j == pytest.approx(128e-6 * 86400)


def test_an_event_every_second_for_years_is_refused() -> None:
    data = copy.deepcopy(RECHARGEABLE)
    data["until"] = "10 y"
    data["events"] = [{"at": "0 d", "every": "1 s", "kind": "interrogate"}]
    with pytest.raises(InputError) as err:
        run_stimulator_scenario(scenario(data), catalog(), mri_entries())
    assert err.value.field == "events[0].every"
    data["events"] = []
    data["battery"] = {**data["battery"], "check_interval": "1 s"}
    with pytest.raises(InputError) as err:
        run_stimulator_scenario(scenario(data), catalog(), mri_entries())
    assert err.value.field == "battery.check_interval"


def test_advance_never_moves_the_clock_back() -> None:
    dev = device()
    later(dev, days=2)
    now, used = dev.now, dev.plant.used_j
    dev.advance(now - timedelta(days=1))
    assert dev.now == now and dev.plant.used_j == used
