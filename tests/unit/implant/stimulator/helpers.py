"""Builders for the virtual IPG tests. Values that are not public are test inputs (the
OpenNerve IPG's ranges, window and debounce come from the shipped catalog)."""

import copy
from datetime import datetime, timedelta
from typing import Any

from thecal.adapters.stimulator_files import load_stimulator_catalog
from thecal.adapters.stimulator_scenario_files import mri_entries, parse_stimulator_scenario
from thecal.implant.stimulator_build import build
from thecal.implant.stimulator_device import SimulatedStimulator
from thecal.stimulation.catalog import StimulatorCatalog
from thecal.stimulation.program import (
    Area,
    ContactSetting,
    Mode,
    Polarity,
    Program,
    Waveform,
    WaveformKind,
)
from thecal.units import Q_

START = datetime(2025, 1, 6, 9)
_CATALOG: list[StimulatorCatalog] = []


def catalog() -> StimulatorCatalog:
    if not _CATALOG:
        _CATALOG.append(load_stimulator_catalog())
    return _CATALOG[0]


def _area(
    cathode: int = 3,
    anode: int = 2,
    amplitude: str = "3 mA",
    patient: tuple[str, str] | None = ("2 mA", "4 mA"),
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": "back",
        "amplitude": amplitude,
        "pulse_width": "300 us",
        "rate": "50 Hz",
        "contacts": [
            {"lead": "L1", "index": cathode, "polarity": "cathode"},
            {"lead": "L1", "index": anode, "polarity": "anode"},
        ],
    }
    if patient is not None:
        out["patient_min"], out["patient_max"] = patient
    return out


# Test inputs: OpenNerve's output voltage, capacity, cell curve and charge power are not public.
RECHARGEABLE: dict[str, Any] = {
    "start": START,
    "until": "30 d",
    "device": {"critical_alarm_repeat": "1 h", "noncritical_alarm_repeat": "24 h"},
    "battery": {
        "full_voltage": "4.1 V",
        "empty_voltage": "3.0 V",
        "check_interval": "1 d",
        "charge_power": "50 mW",
    },
    "ipg": {
        "model": "OpenNerve IPG",
        "available_voltage": "12 V",
        "capacity": "200 mAh",
        "cell_voltage": "3.7 V",
        "efficiency": "50 %",
        "quiescent_power": "20 uW",
    },
    "leads": [
        {
            "name": "L1",
            "kind": "percutaneous",
            "contacts": 8,
            "diameter": "1.3 mm",
            "contact_length": "3 mm",
        },
    ],
    "plant": {"contact_impedance": "800 Ohm", "case_impedance": "150 Ohm"},
    "groups": [
        {"name": "A", "areas": [_area()]},
        {"name": "B", "areas": [_area(cathode=5, anode=6)]},
    ],
}

# A primary cell (the registry entry has no ranges, window or debounce: all entered here).
PRIMARY: dict[str, Any] = {
    **copy.deepcopy(RECHARGEABLE),
    "device": {
        "critical_alarm_repeat": "1 h",
        "noncritical_alarm_repeat": "24 h",
        "impedance_min": "100 Ohm",
        "impedance_max": "5 kOhm",
        "short_threshold": "450 Ohm",
    },
    "battery": {
        "full_voltage": "3.2 V",
        "empty_voltage": "2.5 V",
        "eri_voltage": "2.7 V",
        "eos_voltage": "2.6 V",
        "low_readings": 3,
        "check_interval": "1 d",
    },
    "ipg": {
        "model": "Medtronic primary-cell SCS IPG",
        "available_voltage": "10 V",
        "capacity": "5500 mAh",
        "cell_voltage": "3.2 V",
        "efficiency": "50 %",
        "quiescent_power": "20 uW",
    },
}


def scenario(base: dict[str, Any], **changes: Any) -> Any:
    data = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return parse_stimulator_scenario(data)


def device(base: dict[str, Any] = RECHARGEABLE, write: bool = True, **changes: Any) -> Any:
    """A virtual IPG from ``base`` with ``changes``; its groups written (the first runs)."""
    built = build(scenario(base, **changes), catalog(), mri_entries())
    dev: SimulatedStimulator = built.device
    if write:
        for name, program in built.groups:
            assert dev.write_group(name, program).state_changed
    dev.groups = dict(built.groups)  # type: ignore[attr-defined]
    return dev


def later(dev: SimulatedStimulator, **delta: float) -> None:
    dev.advance(dev.now + timedelta(**delta))


def program(
    amplitude: float,
    pulse_width: float = 300,
    rate: float = 50,
    cathodes: tuple[int, ...] = (3,),
    anodes: tuple[int, ...] = (2,),
    patient_max: float | None = None,
) -> Program:
    """A one-area current-mode tonic program on lead L1 (cathodes and anodes share equally)."""
    contacts = tuple(
        ContactSetting("L1", i, polarity, 1.0 / len(group))
        for group, polarity in ((cathodes, Polarity.CATHODE), (anodes, Polarity.ANODE))
        for i in group
    )
    return Program(
        "test",
        (
            Area(
                "back", Mode.CURRENT, Q_(amplitude, "mA"), Q_(pulse_width, "us"),
                Waveform(WaveformKind.TONIC, Q_(rate, "Hz")), contacts,
                patient_min=None if patient_max is None else Q_(min(amplitude, 0.2), "mA"),
                patient_max=None if patient_max is None else Q_(patient_max, "mA"),
            ),
        ),
    )  # fmt: skip
