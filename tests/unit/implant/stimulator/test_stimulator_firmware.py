"""The virtual IPG's firmware: the gate it applies, the patient's bounds, the clamp, on/off by
whom, MRI per labelling, and the energy it draws (hand-worked, arithmetic in the comments)."""

import pytest

from tests.unit.implant.stimulator.helpers import RECHARGEABLE, START, device, later, program
from tests.unit.implant.stimulator.test_stimulator_refusals import RECHARGE_IMAGEREADY
from thecal.devices.implant_device import ImplantDevice
from thecal.devices.log import EventKind
from thecal.devices.refusals import DeviceRefusal
from thecal.devices.states import DeliveryState
from thecal.devices.stimulator import SpinalCordStimulator, TherapyState
from thecal.stimulation.battery import energy_per_pulse
from thecal.therapy.findings import Code
from thecal.units import Q_


def test_the_virtual_ipg_satisfies_the_family_protocol() -> None:
    dev = device()
    assert isinstance(dev, SpinalCordStimulator) and isinstance(dev, ImplantDevice)
    assert dev.capabilities.family.value == "spinal cord stimulator"


def test_a_program_above_the_shannon_limit_is_refused_by_the_firmware() -> None:
    dev = device()
    # Ring 1.3 mm x 3 mm: A = pi x 0.13 x 0.3 = 0.1225 cm2. 5 mA x 1000 us = 5 uC per phase,
    # D = 5 / 0.1225 = 40.8 uC/cm2, k = log10 40.8 + log10 5 = 1.61 + 0.70 = 2.31 > 1.5.
    result = dev.write_group("hot", program(5.0, pulse_width=1000))
    assert result.refusal is DeviceRefusal.EXCEEDS_LIMITS
    assert Code.STIM_SHANNON_K_ABOVE_LIMIT in {f.code for f in result.findings}
    assert "hot" not in dev.interrogate().groups
    assert dev.events()[-1].kind is EventKind.PROGRAM_REFUSED


def test_the_top_of_the_patients_range_is_checked_too() -> None:
    dev = device()
    # 3 mA x 300 us = 0.9 uC: k = log10(0.9 / 0.1225) + log10 0.9 = 0.866 - 0.046 = 0.82: fine.
    # Top 5 mA x 1000 us... at 300 us: 1.5 uC, k = log10 12.24 + log10 1.5 = 1.26: fine; so
    # use 1000 us: 3 mA -> 3 uC, k = log10 24.5 + log10 3 = 1.39 + 0.48 = 1.87 -- too much even
    # as programmed; at 600 us: 1.8 uC, k = log10 14.7 + log10 1.8 = 1.167 + 0.255 = 1.42 (ok),
    # top 4 mA: 2.4 uC, k = log10 19.6 + log10 2.4 = 1.292 + 0.380 = 1.67 > 1.5: refused.
    result = dev.write_group("P", program(3.0, pulse_width=600, patient_max=4.0))
    assert result.refusal is DeviceRefusal.EXCEEDS_LIMITS
    assert {f.code for f in result.findings} == {Code.STIM_PATIENT_SHANNON_K_ABOVE_LIMIT}
    assert dev.write_group("P", program(3.0, pulse_width=600, patient_max=3.0)).state_changed


def test_patient_amplitude_edges_are_allowed_and_the_clinician_can_widen_them() -> None:
    dev = device()  # patient range 2-4 mA
    assert dev.set_amplitude("back", Q_(4, "mA"), patient=True).state_changed  # the top edge
    assert dev.set_amplitude("back", Q_(2, "mA"), patient=True).state_changed  # the bottom edge
    assert dev.set_amplitude("back", Q_(1.9, "mA"), patient=True).refused
    # The clinician sets 4.5 mA: within the firmware's limits, so the group is rewritten and the
    # patient's top follows it (k at 4.5 mA, 300 us: 1.35 uC, log10 11.0 + log10 1.35 = 1.17).
    assert dev.set_amplitude("back", Q_(4.5, "mA")).state_changed
    area = dev.interrogate().program.areas[0]
    assert area.amplitude == Q_(4.5, "mA") and area.patient_max == Q_(4.5, "mA")
    assert dev.set_amplitude("back", Q_(4.5, "mA"), patient=True).state_changed


def test_patient_off_shows_as_stopped_by_patient_and_cannot_undo_a_clinician_off() -> None:
    dev = device()
    assert dev.stimulation_off(patient=True).state_changed
    status = dev.interrogate()
    assert status.therapy is TherapyState.OFF_BY_PATIENT
    assert status.delivery is DeliveryState.STOPPED_BY_PATIENT
    assert dev.stimulation_on(patient=True).state_changed
    assert dev.stop().state_changed
    assert dev.stimulation_on(patient=True).refusal is DeviceRefusal.NOT_DELIVERING
    assert dev.resume().state_changed
    assert dev.interrogate().stimulating


def test_the_clamp_is_quantised_to_the_amplitude_step() -> None:
    dev = device(RECHARGEABLE, plant={"contact_impedance": "1450 Ohm"})
    # Estimated path 1450 + 1450 = 2900 Ohm; 12 V / 2900 Ohm = 4.138 mA -> 4.1 mA (0.1 mA step).
    dev.impedance_test()
    top = dict(dev.interrogate().safe_max)["back"]
    assert top is not None and top.to("mA").magnitude == pytest.approx(4.1)
    dev.set_amplitude("back", Q_(4, "mA"), patient=True)
    assert dict(dev.interrogate().amplitudes)["back"] == Q_(4, "mA")  # below it: not clamped


def test_bipolar_readings_separate_the_pocket_from_the_lead() -> None:
    dev = device(RECHARGEABLE, plant={"case_impedance": "900 Ohm"})
    report, _ = dev.impedance_test()
    assert report is not None
    # Monopolar = contact + case = 800 + 900 = 1700 Ohm; bipolar = 800 + 800 = 1600 Ohm; the
    # firmware's case estimate: (1700 + 1700 - 1600) / 2 = 900 Ohm.
    assert report.get("L1:0").impedance == Q_(1700, "ohm")
    assert report.get("L1:0-L1:1").impedance == Q_(1600, "ohm")
    assert dev.firmware.estimates["case"] == pytest.approx(900)
    assert dev.firmware.estimates["L1:5"] == pytest.approx(800)


def test_mri_mode_per_labelling() -> None:
    none = device()  # labelling "none": no MRI mode, a scan resets it to power-on defaults
    assert none.mri_mode(True).refusal is DeviceRefusal.UNSUPPORTED
    none.mri_exposure()
    assert none.interrogate().therapy is TherapyState.NO_PROGRAM
    assert EventKind.POWER_ON_RESET in [e.kind for e in none.events()]
    ready = device(RECHARGE_IMAGEREADY)
    ready.impedance_test()
    assert ready.mri_mode(True).state_changed
    assert ready.interrogate().therapy is TherapyState.MRI_MODE
    ready.mri_exposure()  # in MRI mode: nothing lost
    assert ready.mri_mode(False).state_changed
    assert ready.interrogate().therapy is TherapyState.STIMULATING


def test_energy_drawn_is_the_closed_form() -> None:
    dev = device()
    # 3 mA through 800 + 800 = 1600 Ohm for 300 us: E = 0.003^2 x 1600 x 0.0003 = 4.32 uJ;
    # x 50 Hz = 216 uW; / 50 % = 432 uW; + 20 uW quiescent = 452 uW. A day: 39.05 J.
    energy = energy_per_pulse(Q_(3, "mA"), Q_(1600, "ohm"), Q_(300, "us"))
    assert energy.to("uJ").magnitude == pytest.approx(4.32)
    later(dev, days=1)
    assert dev.plant.used_j == pytest.approx(452e-6 * 86400)
    assert dev.now == START.replace(day=7)
