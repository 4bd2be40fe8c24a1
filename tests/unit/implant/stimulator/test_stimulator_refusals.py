"""Every refusal code only a stimulator answers with has a path here (the pump's codes are in
tests/unit/devices/test_device_states.py), each with its code and a sentence."""

import copy
from collections.abc import Callable
from dataclasses import replace

import pytest

from tests.unit.devices.test_device_states import STIMULATOR_ONLY
from tests.unit.implant.stimulator.helpers import PRIMARY, RECHARGEABLE, device, program
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.stimulation.program import Mode
from thecal.units import Q_


def _outside_patient_range() -> CommandResult:
    return device().set_amplitude("back", Q_(4.1, "mA"), patient=True)  # range 2-4 mA


def _unknown_group() -> CommandResult:
    return device().select_group("Z", patient=True)


def _mri_mode() -> CommandResult:
    dev = device(RECHARGE_IMAGEREADY)
    dev.impedance_test()
    assert dev.mri_mode(True).state_changed
    return dev.set_amplitude("back", Q_(3.5, "mA"))


def _not_rechargeable() -> CommandResult:
    return device(PRIMARY).charge(Q_(1, "h"))


def _unsupported() -> CommandResult:
    p = program(3.0)
    voltage = replace(p, areas=(replace(p.areas[0], mode=Mode.VOLTAGE, amplitude=Q_(2, "V"),
                                        impedance=Q_(800, "ohm")),))  # fmt: skip
    return device().write_group("V", voltage)


def _lead_integrity() -> CommandResult:
    dev = device(RECHARGE_IMAGEREADY)
    return dev.mri_mode(True)  # no impedance test yet: integrity not shown


RECHARGE_IMAGEREADY = copy.deepcopy(RECHARGEABLE)
RECHARGE_IMAGEREADY["device"] = {
    **RECHARGE_IMAGEREADY["device"],
    "mri_labelling": "ImageReady (Boston Scientific Precision / Spectra WaveWriter)",
}

PATHS: dict[DeviceRefusal, Callable[[], CommandResult]] = {
    DeviceRefusal.OUTSIDE_PATIENT_RANGE: _outside_patient_range,
    DeviceRefusal.UNKNOWN_GROUP: _unknown_group,
    DeviceRefusal.MRI_MODE: _mri_mode,
    DeviceRefusal.NOT_RECHARGEABLE: _not_rechargeable,
    DeviceRefusal.UNSUPPORTED: _unsupported,
    DeviceRefusal.LEAD_INTEGRITY: _lead_integrity,
}


def test_every_stimulator_only_code_has_a_path() -> None:
    assert set(PATHS) == STIMULATOR_ONLY


@pytest.mark.parametrize("code", sorted(PATHS))
def test_each_stimulator_refusal_carries_its_code_and_a_sentence(code: DeviceRefusal) -> None:
    result = PATHS[code]()
    assert result.refused and result.refusal is code and result.reason
