"""The gate's limits, each on its edge (not flagged) and just past it (flagged)."""

import math

import pytest

from thecal.stimulation.catalog import BatteryKind
from thecal.therapy.findings import Code, Level

from .helpers import area, catalog_with, check, codes, program

ETERNA = {"model": "Eterna"}  # no public ranges: only the charge limits apply
A_RING = math.pi * 0.13 * 0.3  # cm2: the 1.3 mm x 3 mm ring contact
PADDLE = {"name": "L1", "kind": "paddle", "contacts": 16, "contact_area": "2 mm2"}


def _mA_for_k(k: float, pulse_width_us: float = 300.0) -> float:
    # k = log10(Q/A) + log10(Q)  =>  Q = sqrt(A x 10^k) uC;  I = Q / PW (uC / us = A; x 1000 mA).
    return math.sqrt(A_RING * 10**k) / pulse_width_us * 1000


def test_shannon_k_at_the_limit_passes_just_past_is_refused() -> None:
    edge = _mA_for_k(1.5)  # sqrt(0.12252 x 31.623) = 1.968 uC / 300 us = 6.561 mA
    assert edge == pytest.approx(6.561, abs=0.001)
    at = check(program(area(amplitude=f"{edge!r} mA"), ipg=ETERNA))
    assert at.areas[0].programmed[0].k == pytest.approx(1.5)
    assert Code.STIM_SHANNON_K_ABOVE_LIMIT not in codes(at) and not at.blocked
    past = check(program(area(amplitude=f"{edge * 1.000001!r} mA"), ipg=ETERNA))
    hard = [f for f in past.findings if f.code is Code.STIM_SHANNON_K_ABOVE_LIMIT]
    # The cathode and the anode each carry the whole current: one finding per contact.
    assert past.blocked and len(hard) == 2 and all(f.level is Level.HARD for f in hard)
    assert "L1:1" in hard[0].message and "L1:2" in hard[1].message
    assert "Shannon" in hard[0].source


def test_the_top_of_the_patient_range_is_checked_too() -> None:
    edge = _mA_for_k(1.5)
    at = check(program(area(amplitude="1 mA", patient_max=f"{edge!r} mA"), ipg=ETERNA))
    assert Code.STIM_PATIENT_SHANNON_K_ABOVE_LIMIT not in codes(at) and not at.blocked
    past = check(program(area(amplitude="1 mA", patient_max=f"{edge * 1.000001!r} mA"), ipg=ETERNA))
    assert Code.STIM_PATIENT_SHANNON_K_ABOVE_LIMIT in codes(past) and past.blocked
    assert Code.STIM_SHANNON_K_ABOVE_LIMIT not in codes(past)  # 1 mA itself is fine


def test_institution_sets_k() -> None:
    # At k = 1.85 the 6.561 mA edge of k = 1.5 is allowed.
    strict_edge = _mA_for_k(1.5) * 1.01
    loose = catalog_with(limits={"shannon_k": 1.85, "shannon_k_source": "institution protocol"})
    assert not check(program(area(amplitude=f"{strict_edge!r} mA"), ipg=ETERNA), loose).blocked
    assert check(program(area(amplitude=f"{strict_edge!r} mA"), ipg=ETERNA)).blocked


def test_charge_density_warning_edge() -> None:
    # 2 mm2 = 0.02 cm2; 2 mA x 300 us = 0.6 uC; 0.6 / 0.02 = 30 uC/cm2: on the edge.
    # k = log10 30 + log10 0.6 = 1.477 - 0.222 = 1.255: below 1.5, only the warning applies.
    at = check(program(area(amplitude="2 mA"), ipg=ETERNA, leads=[PADDLE]))
    assert at.areas[0].programmed[0].density.magnitude == pytest.approx(30)
    assert Code.STIM_CHARGE_DENSITY_WARNING not in codes(at)
    past = check(program(area(amplitude="2.0001 mA"), ipg=ETERNA, leads=[PADDLE]))
    soft = [f for f in past.findings if f.code is Code.STIM_CHARGE_DENSITY_WARNING]
    assert len(soft) == 2 and soft[0].level is Level.SOFT and not past.blocked
    assert "30 uC/cm2" in soft[0].source and past.needs_reason == tuple(soft)


def test_charge_density_warning_at_the_top_of_the_patient_range() -> None:
    at = check(program(area(amplitude="1 mA", patient_max="2 mA"), ipg=ETERNA, leads=[PADDLE]))
    assert Code.STIM_PATIENT_CHARGE_DENSITY_WARNING not in codes(at)
    past = check(
        program(area(amplitude="1 mA", patient_max="2.0001 mA"), ipg=ETERNA, leads=[PADDLE])
    )
    assert Code.STIM_PATIENT_CHARGE_DENSITY_WARNING in codes(past)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amplitude": "5 mA"}, None),  # OpenNerve: 0.2-5.0 mA
        ({"amplitude": "5.0001 mA"}, Code.STIM_AMPLITUDE_OUT_OF_RANGE),
        ({"amplitude": "0.2 mA"}, None),
        ({"amplitude": "0.1999 mA"}, Code.STIM_AMPLITUDE_OUT_OF_RANGE),
        ({"amplitude": "1 mA", "patient_max": "5.0001 mA"}, Code.STIM_AMPLITUDE_OUT_OF_RANGE),
        ({"amplitude": "1 mA", "patient_min": "0.1999 mA"}, Code.STIM_AMPLITUDE_OUT_OF_RANGE),
        ({"pulse_width": "1000 us", "amplitude": "1 mA"}, None),  # 100-1,000 us
        ({"pulse_width": "1000.1 us", "amplitude": "1 mA"}, Code.STIM_PULSE_WIDTH_OUT_OF_RANGE),
        ({"pulse_width": "100 us"}, None),
        ({"pulse_width": "99.9 us"}, Code.STIM_PULSE_WIDTH_OUT_OF_RANGE),
        ({"rate": "2000 Hz"}, None),  # 1-2,000 Hz
        ({"rate": "2000.1 Hz"}, Code.STIM_RATE_OUT_OF_RANGE),
        ({"rate": "1 Hz"}, None),
        ({"rate": "0.999 Hz"}, Code.STIM_RATE_OUT_OF_RANGE),
        ({"waveform": "burst", "rate": "500 Hz", "burst": {"pulses": 5, "burst_rate": "1 Hz"}},
         None),
        ({"waveform": "burst", "rate": "500 Hz", "burst": {"pulses": 5, "burst_rate": "0.9 Hz"}},
         Code.STIM_RATE_OUT_OF_RANGE),
    ],
)  # fmt: skip
def test_device_ranges_edges(changes: dict[str, object], code: Code | None) -> None:
    result = check(program(area(**changes)))
    hard = {f.code for f in result.findings if f.level is Level.HARD}
    assert hard == ({code} if code else set())


def test_voltage_mode_range_needs_voltage_max() -> None:
    # 4 V / 800 Ohm = 5 mA: the issue example again, in voltage mode.
    result = check(program(area(mode="voltage", amplitude="4 V", impedance="800 Ohm")))
    assert result.areas[0].programmed[0].charge.to("uC").magnitude == pytest.approx(1.5)
    missing = [f for f in result.findings if f.code is Code.STIM_INPUT_MISSING]
    assert any("ipg.voltage_max" in f.message for f in missing)
    ranged = check(
        program(
            area(mode="voltage", amplitude="4 V", impedance="800 Ohm"),
            ipg={"model": "Eterna", "voltage_max": "3.9 V"},
        )
    )
    assert Code.STIM_AMPLITUDE_OUT_OF_RANGE in codes(ranged) and ranged.blocked


def test_a_pulse_must_fit_in_its_period() -> None:
    # 2000 Hz: 500 us between pulses. 500 us fits exactly; 500.1 us does not.
    at = check(program(area(rate="2000 Hz", pulse_width="500 us")))
    assert Code.STIM_PULSE_LONGER_THAN_PERIOD not in codes(at)
    past = check(program(area(rate="2000 Hz", pulse_width="500.1 us")))
    assert Code.STIM_PULSE_LONGER_THAN_PERIOD in codes(past) and past.blocked


def test_a_burst_must_fit_in_its_period() -> None:
    # 5 pulses at 500 Hz last 10 ms; bursts at 100 Hz leave 10 ms: fits exactly.
    def burst(rate: str) -> dict[str, object]:
        return area(waveform="burst", rate="500 Hz", pulse_width="1000 us",
                    amplitude="0.6 mA", burst={"pulses": 5, "burst_rate": rate})  # fmt: skip

    assert Code.STIM_BURST_LONGER_THAN_PERIOD not in codes(check(program(burst("100 Hz"))))
    past = check(program(burst("100.01 Hz")))
    assert Code.STIM_BURST_LONGER_THAN_PERIOD in codes(past) and past.blocked


def test_voltage_compliance_edge() -> None:
    # 5 mA x 800 Ohm = 4 V: exactly the available 4 V, delivered in full.
    ipg = {"model": "OpenNerve IPG", "available_voltage": "4 V"}
    at = check(program(area(impedance="800 Ohm"), ipg=ipg))
    assert not at.areas[0].limited and Code.STIM_VOLTAGE_COMPLIANCE not in codes(at)
    assert at.areas[0].delivered.to("mA").magnitude == pytest.approx(5)
    # 800.08 Ohm needs 4.0004 V: limited to 4 V / 800.08 Ohm = 4.9995 mA, a soft finding.
    past = check(program(area(impedance="800.08 Ohm"), ipg=ipg))
    assert past.areas[0].limited
    assert past.areas[0].delivered.to("mA").magnitude == pytest.approx(4 / 800.08 * 1000)
    (f,) = [f for f in past.findings if f.code is Code.STIM_VOLTAGE_COMPLIANCE]
    assert f.level is Level.SOFT and "less than programmed" in f.message


def test_voltage_compliance_at_the_top_of_the_patient_range() -> None:
    # 4 mA x 1000 Ohm = 4 V fits; the patient's 5 mA x 1000 Ohm = 5 V does not.
    ipg = {"model": "OpenNerve IPG", "available_voltage": "4 V"}
    result = check(
        program(area(amplitude="4 mA", patient_max="5 mA", impedance="1000 Ohm"), ipg=ipg)
    )
    assert not result.areas[0].limited
    (f,) = [f for f in result.findings if f.code is Code.STIM_VOLTAGE_COMPLIANCE]
    assert "top of the patient's range" in f.message


def test_voltage_mode_above_available_voltage_is_limited() -> None:
    # 4.5 V asked, 4 V available: 4 V / 800 Ohm = 5 mA delivered.
    ipg = {"model": "OpenNerve IPG", "available_voltage": "4 V"}
    result = check(program(area(mode="voltage", amplitude="4.5 V", impedance="800 Ohm"), ipg=ipg))
    assert result.areas[0].limited
    assert result.areas[0].delivered.to("mA").magnitude == pytest.approx(5)


def test_missing_inputs_are_named() -> None:
    result = check(program(area()))
    messages = " ".join(f.message for f in result.findings if f.code is Code.STIM_INPUT_MISSING)
    for name in ("ipg.available_voltage", "areas[0].impedance", "ipg.capacity",
                 "ipg.efficiency", "ipg.quiescent_power", "ipg.cell_voltage"):  # fmt: skip
        assert name in messages
    assert all(f.level is Level.INFO for f in result.findings)
    assert result.battery is None


BATTERY = {"model": "Eterna", "capacity": "100 mAh", "cell_voltage": "3.6 V",
           "efficiency": "50 %", "quiescent_power": "10 uW"}  # fmt: skip


def test_recharge_interval_hand_worked() -> None:
    # E = (5 mA)^2 x 800 Ohm x 300 us = 6 uJ; x 50 Hz = 300 uW; / 0.5 = 600 uW; + 10 = 610 uW.
    # Full cell 0.1 Ah x 3.6 V = 1296 J; 1296 J / 610 uW = 2,124,590 s = 24.59 d.
    result = check(program(area(impedance="800 Ohm"), ipg=BATTERY))
    b = result.battery
    assert b is not None and b.kind is BatteryKind.RECHARGEABLE
    assert b.drain.to("uW").magnitude == pytest.approx(610)
    assert b.stored.to("J").magnitude == pytest.approx(1296)
    assert b.time_to_empty is not None
    assert b.time_to_empty.to("d").magnitude == pytest.approx(1296 / 610e-6 / 86400)


def test_cycling_and_burst_lower_the_drain() -> None:
    # Burst: 5 pulses x 40 Hz = 200 pulses/s; on 30 s of 120 s = 25 %.
    # E = (0.6 mA)^2 x 900 Ohm x 1000 us = 0.324 uJ; x 200 x 0.25 = 16.2 uW; / 0.5 + 10 = 42.4 uW.
    burst = area(waveform="burst", rate="500 Hz", pulse_width="1000 us", amplitude="0.6 mA",
                 impedance="900 Ohm", burst={"pulses": 5, "burst_rate": "40 Hz"},
                 cycling={"on": "30 s", "off": "90 s"})  # fmt: skip
    b = check(program(burst, ipg=BATTERY)).battery
    assert b is not None and b.drain.to("uW").magnitude == pytest.approx(42.4)


def test_primary_longevity_from_the_file() -> None:
    ipg = {**BATTERY, "model": "Proclaim XR"}
    b = check(program(area(impedance="800 Ohm"), ipg=ipg)).battery
    assert b is not None and b.kind is BatteryKind.PRIMARY
