"""One test per alarm the virtual IPG raises, and the debounce behind the battery alarms."""

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.unit.implant.stimulator.helpers import PRIMARY, RECHARGEABLE, device, later
from thecal.devices.alarms import AlarmCondition
from thecal.devices.identity import BatteryState
from thecal.devices.log import EventKind
from thecal.devices.refusals import DeviceRefusal
from thecal.devices.stimulator import ReadingFlag, TherapyState
from thecal.implant.stimulator_alarms import STIMULATOR_ALARMS
from thecal.implant.stimulator_battery import Debounce
from thecal.units import Q_


def conditions(dev: object) -> set[AlarmCondition]:
    return {a.condition for a in dev.interrogate().alarms}  # type: ignore[attr-defined]


def test_every_stimulator_alarm_has_a_test_here() -> None:
    tested = {
        AlarmCondition.ELECTIVE_REPLACEMENT, AlarmCondition.END_OF_SERVICE,
        AlarmCondition.OPEN_CIRCUIT, AlarmCondition.SHORT_CIRCUIT,
        AlarmCondition.RECHARGE_NEEDED, AlarmCondition.AMPLITUDE_LIMITED,
    }  # fmt: skip
    assert set(STIMULATOR_ALARMS) == tested


def test_debounce_fires_on_the_third_consecutive_low_reading_only() -> None:
    d = Debounce(3)
    assert [d.reading(x) for x in (True, True, False, True, True)] == [False] * 5
    assert d.reading(True) is True  # the third in a row
    assert d.reading(True) is False  # fires once


def _drain_to(dev: object, fraction: float) -> None:
    """Use ``fraction`` of the cell at once (the plant's truth), as if months had passed."""
    dev.plant.used_j = fraction * dev.firmware.cell.energy_j  # type: ignore[attr-defined]


def test_elective_replacement_after_three_low_readings() -> None:
    dev = device(PRIMARY)
    # Reading: 2.5 + (1 - used) x 0.7 V; at used 0.75 -> 2.675 V, at or below ERI 2.7 V,
    # above EOS 2.6 V.
    _drain_to(dev, 0.75)
    later(dev, days=2, hours=1)  # two daily readings: not yet
    assert AlarmCondition.ELECTIVE_REPLACEMENT not in conditions(dev)
    later(dev, days=1)  # the third
    status = dev.interrogate()
    assert AlarmCondition.ELECTIVE_REPLACEMENT in conditions(dev)
    assert status.battery is BatteryState.ELECTIVE_REPLACEMENT
    assert status.therapy is TherapyState.STIMULATING  # ERI does not stop stimulation


def test_end_of_service_stops_stimulation_for_good() -> None:
    dev = device(PRIMARY)
    _drain_to(dev, 0.9)  # 2.5 + 0.1 x 0.7 = 2.57 V: at or below EOS 2.6 V
    later(dev, days=3, hours=1)
    status = dev.interrogate()
    assert AlarmCondition.END_OF_SERVICE in conditions(dev)
    assert status.therapy is TherapyState.END_OF_SERVICE and status.eos_at is not None
    used = dev.plant.used_j
    later(dev, days=30)
    assert dev.plant.used_j == used  # shut down: no drain at all
    assert dev.stimulation_on().refusal is DeviceRefusal.END_OF_SERVICE
    assert dev.write_group("C", dev.groups["A"]).refusal is DeviceRefusal.END_OF_SERVICE
    assert dev.impedance_test()[1].refusal is DeviceRefusal.END_OF_SERVICE
    assert dev.interrogate().therapy is TherapyState.END_OF_SERVICE


def test_open_circuit_turns_the_contact_and_its_area_off() -> None:
    dev = device()
    dev.plant.fault("L1:3", 2e6, dev.firmware.now)  # fracture of the cathode
    report, result = dev.impedance_test()
    assert result.state_changed and report is not None
    mono = report.get("L1:3")
    assert mono.flag is ReadingFlag.ABOVE_WINDOW and mono.impedance == Q_(5000, "ohm")
    assert AlarmCondition.OPEN_CIRCUIT in conditions(dev)
    status = dev.interrogate()
    assert status.disabled_contacts == ("L1:3",) and status.therapy is TherapyState.LEAD_FAULT
    assert dev.select_group("B").state_changed  # B avoids L1:3
    assert dev.interrogate().therapy is TherapyState.STIMULATING
    dev.plant.fault("L1:3", None, dev.firmware.now)  # repaired: back in range
    dev.impedance_test()
    assert dev.interrogate().disabled_contacts == ()
    assert all(a.resolved for a in dev.interrogate().alarms)


def test_short_circuit_turns_the_contact_off() -> None:
    dev = device()
    dev.plant.fault("L1:2", 60.0, dev.firmware.now)  # insulation breach on the anode
    report, _ = dev.impedance_test()
    assert report is not None
    # Monopolar: 60 + 150 (case) = 210 Ohm, below the 450 Ohm short threshold (OpenNerve).
    assert report.get("L1:2").flag is ReadingFlag.SHORT
    assert report.get("L1:2").impedance == Q_(210, "ohm")
    assert AlarmCondition.SHORT_CIRCUIT in conditions(dev)
    assert dev.interrogate().therapy is TherapyState.LEAD_FAULT
    assert any(e.kind is EventKind.CONTACT_DISABLED for e in dev.events())


def test_recharge_needed_then_depleted_then_recharged() -> None:
    dev = device()
    # Reading 3.0 + (1 - used) x 1.1 V: used 0.75 -> 3.275 V (<= 3.3 V ERI, > 3.2 V EOS).
    _drain_to(dev, 0.75)
    later(dev, days=3, hours=1)
    assert AlarmCondition.RECHARGE_NEEDED in conditions(dev)
    assert dev.interrogate().therapy is TherapyState.STIMULATING
    _drain_to(dev, 0.85)  # 3.165 V: at or below 3.2 V
    later(dev, days=3)
    assert dev.interrogate().therapy is TherapyState.BATTERY_DEPLETED
    assert dev.interrogate().battery is BatteryState.OK  # depleted, not end of service
    # 4 h at 50 mW = 720 J back; the cell holds 0.2 Ah x 3.7 V = 2664 J, so used goes from
    # 0.85 to 0.85 - 720 / 2664 = 0.58 (minus what ran meanwhile): 3.0 + 0.42 x 1.1 = 3.46 V.
    assert dev.charge(Q_(4, "h")).state_changed
    status = dev.interrogate()
    assert status.therapy is TherapyState.STIMULATING
    assert status.battery_voltage.to("V").magnitude > 3.3
    assert next(a for a in status.alarms if a.condition is AlarmCondition.RECHARGE_NEEDED).resolved


def test_amplitude_limited_when_the_voltage_cannot_drive_it() -> None:
    dev = device(RECHARGEABLE, plant={"contact_impedance": "2000 Ohm"})
    # Path L1:3 -> L1:2: 2000 + 2000 = 4000 Ohm; 12 V / 4000 Ohm = 3.0 mA: 3 mA still fits.
    dev.impedance_test()
    assert AlarmCondition.AMPLITUDE_LIMITED not in conditions(dev)
    assert dev.set_amplitude("back", Q_(4, "mA"), patient=True).state_changed
    # The patient asked 4 mA (in range); the firmware runs 3.0 mA, logs it and alarms.
    status = dev.interrogate()
    assert dict(status.amplitudes)["back"] == Q_(3.0, "mA")
    assert AlarmCondition.AMPLITUDE_LIMITED in conditions(dev)
    clamped = [e for e in dev.events() if e.kind is EventKind.AMPLITUDE_CLAMPED]
    assert clamped[-1].quantity("safe_max") == Q_(3.0, "mA")


def test_alarm_repeats_until_acknowledged() -> None:
    dev = device()
    dev.plant.fault("L1:3", 2e6, dev.firmware.now)
    dev.impedance_test()
    dev.advance(dev.now + timedelta(hours=3, minutes=30))  # critical: every 1 h (test input)
    assert next(a for a in dev.interrogate().alarms).repeats == 3
    assert dev.acknowledge_alarm().state_changed


@pytest.mark.parametrize(
    ("contact_ohm", "flag"),
    [
        # Monopolar = contact + 150 Ohm case. The window's top (5 kOhm) is still in range; above
        # it is open. The short threshold (450 Ohm) is in range; below it is a short.
        (4850.0, ReadingFlag.IN_RANGE),
        (4850.001, ReadingFlag.ABOVE_WINDOW),
        (300.0, ReadingFlag.IN_RANGE),
        (299.999, ReadingFlag.SHORT),
    ],
)
def test_reading_edges(contact_ohm: float, flag: ReadingFlag) -> None:
    dev = device()
    dev.plant.fault("L1:7", contact_ohm, dev.firmware.now)
    report, _ = dev.impedance_test()
    assert report is not None and report.get("L1:7").flag is flag


def test_a_reading_exactly_at_the_eri_voltage_counts_as_low() -> None:
    dev = device(PRIMARY)
    # 2.5 + (1 - used) x 0.7 = 2.7 V when used = 1 - 0.2 / 0.7 = 5/7.
    _drain_to(dev, 5 / 7)
    dev.firmware.cell = replace(dev.firmware.cell, quiescent_w=0.0)
    dev.stimulation_off()  # nothing drains: every reading is the same 2.7 V
    later(dev, days=3, hours=1)
    assert dev.interrogate().battery_voltage.to("V").magnitude == pytest.approx(2.7)
    assert AlarmCondition.ELECTIVE_REPLACEMENT in conditions(dev)
