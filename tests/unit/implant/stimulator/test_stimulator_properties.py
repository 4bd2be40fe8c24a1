"""Invariants of the virtual IPG (hypothesis):

* no program the firmware runs exceeds the institution's Shannon k on any contact, at any
  amplitude it runs, including the top of the patient's range;
* the delivered current never exceeds what the available voltage drives through the true
  impedance;
* a primary cell's simulated end of service matches the closed form
  (:mod:`thecal.stimulation.battery`) within 1 %.
"""

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.implant.stimulator.helpers import PRIMARY, catalog, device, later, program
from thecal.stimulation.battery import AreaLoad, battery_drain, energy_per_pulse
from thecal.stimulation.charge import contact_charges
from thecal.stimulation.gate import check_program
from thecal.stimulation.program import Area
from thecal.therapy.findings import Level
from thecal.units import Q_

AREA = Q_(3.141592653589793 * 0.13 * 0.3, "cm**2")  # 1.3 mm x 3 mm ring: 0.1225 cm2
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _max_k(area: Area, amplitude_ma: float) -> float:
    ks = [
        c.k for c in contact_charges(area, Q_(amplitude_ma, "mA"), {"L1": AREA}) if c.k is not None
    ]
    return max(ks, default=float("-inf"))


contacts = st.lists(st.integers(0, 7), min_size=2, max_size=4, unique=True)


@FAST
@given(
    amplitude=st.floats(0.2, 5.0),
    extra=st.floats(0.0, 3.0),
    pulse_width=st.sampled_from([100, 200, 300, 450, 600, 800, 1000]),
    rate=st.floats(2, 200),
    chosen=contacts,
    split=st.integers(1, 3),
    asks=st.lists(st.tuples(st.booleans(), st.floats(0.0, 6.0)), max_size=8),
    contact_ohm=st.floats(300, 3000),
)
def test_no_running_amplitude_exceeds_the_shannon_limit(
    amplitude: float,
    extra: float,
    pulse_width: int,
    rate: float,
    chosen: list[int],
    split: int,
    asks: list[tuple[bool, float]],
    contact_ohm: float,
) -> None:
    split = min(split, len(chosen) - 1)
    top = min(amplitude + extra, 5.0)
    p = program(amplitude, pulse_width, rate, tuple(chosen[:split]), tuple(chosen[split:]), top)
    dev = device(write=False, plant={"contact_impedance": f"{contact_ohm:.3f} Ohm"})
    limit = catalog().limits.shannon_k
    result = dev.write_group("G", p)
    gate = check_program(p, {"L1": AREA}, dev.firmware.setup.ipg, catalog().limits)
    hard = [f for f in gate.findings if f.level is Level.HARD]
    assert result.state_changed is (not hard)  # the firmware runs exactly what the gate accepts
    if hard:
        return
    dev.impedance_test()
    for patient, ask in asks:  # the patient's remote and the clinician's programmer
        dev.set_amplitude("back", Q_(ask, "mA"), patient=patient)
        later(dev, hours=1)
        running = dict(dev.interrogate().amplitudes)["back"].to("mA").magnitude
        assert _max_k(p.areas[0], running) <= limit + 1e-12
    area = dev.interrogate().program.areas[0]
    assert area.patient_max is not None
    assert _max_k(area, area.patient_max.to("mA").magnitude) <= limit + 1e-12


@FAST
@given(
    amplitude=st.floats(0.2, 4.0),
    contact_ohm=st.floats(200, 8000),
    case_ohm=st.floats(50, 3000),
    rise=st.floats(0, 5000),
    fault=st.sampled_from([None, 30.0, 2e6]),
    test_first=st.booleans(),
)
def test_delivered_current_never_exceeds_what_v_over_z_allows(
    amplitude: float,
    contact_ohm: float,
    case_ohm: float,
    rise: float,
    fault: float | None,
    test_first: bool,
) -> None:
    dev = device(
        write=False,
        plant={
            "contact_impedance": f"{contact_ohm:.3f} Ohm",
            "case_impedance": f"{case_ohm:.3f} Ohm",
            "rise_per_year": f"{rise:.3f} Ohm",
        },
    )
    dev.write_group("G", program(amplitude, patient_max=4.0))
    if test_first:
        dev.impedance_test()
    if fault is not None:
        dev.plant.fault("L1:2", fault, dev.firmware.now)
    v = dev.capabilities.available_voltage.to("V").magnitude
    for _ in range(6):
        dev.set_amplitude("back", Q_(4.0, "mA"), patient=True)
        dev.advance(dev.now + timedelta(days=60))
        for _name, delivered, commanded, ohm in dev.delivered():
            assert delivered <= commanded + 1e-12
            assert delivered * ohm / 1000.0 <= v * (1 + 1e-12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    amplitude=st.floats(0.5, 4.0),  # 4 mA x 450 us: k = 1.42, under 1.5
    pulse_width=st.sampled_from([100, 200, 300, 450]),
    rate=st.floats(10, 100),
    # 4 mA x (2 x 1200 Ohm) = 9.6 V: within the 10 V available, so nothing is voltage-limited
    # and the test's drain is the gate's (the compliance case is the next test's).
    contact_ohm=st.floats(400, 1200),
    years=st.floats(1.0, 8.0),
)
def test_primary_cell_longevity_matches_the_closed_form(
    amplitude: float, pulse_width: int, rate: float, contact_ohm: float, years: float
) -> None:
    # The closed form: energy = capacity x cell voltage; drain = I^2 Z PW x rate / efficiency
    # + quiescent; longevity = energy / drain (thecal.stimulation.battery). The capacity is
    # chosen so the closed form gives ``years``; EOS = the empty voltage (all energy used).
    p = program(amplitude, pulse_width, rate)
    path = Q_(2 * contact_ohm, "ohm")  # cathode + anode, no drift
    p = replace(p, areas=(replace(p.areas[0], impedance=path),))
    load = AreaLoad(energy_per_pulse(Q_(amplitude, "mA"), path, Q_(pulse_width, "us")),
                    Q_(rate, "Hz"), 1.0)  # fmt: skip
    drain = battery_drain([load], 0.5, Q_(20, "uW"))
    capacity = (drain * Q_(years, "year") / Q_(3.2, "V")).to("mAh")
    dev = device(
        PRIMARY,
        write=False,
        battery={"eri_voltage": "2.55 V", "eos_voltage": "2.5 V"},
        ipg={**PRIMARY["ipg"], "capacity": f"{capacity.magnitude:.6f} mAh"},
        plant={"contact_impedance": f"{contact_ohm:.3f} Ohm"},
    )
    ipg = dev.firmware.setup.ipg
    projection = check_program(p, {"L1": AREA}, ipg, catalog().limits).battery
    assert projection is not None and projection.time_to_empty is not None
    closed = projection.time_to_empty.to("day").magnitude
    assert closed == pytest.approx(years * 365.25, rel=1e-6)  # the capacity's text rounds
    assert dev.write_group("G", program(amplitude, pulse_width, rate)).state_changed
    dev.advance(dev.now + timedelta(days=closed + 10))
    status = dev.interrogate()
    assert status.eos_at is not None
    simulated = (status.eos_at - dev.config.start).total_seconds() / 86400
    assert abs(simulated - closed) <= 0.01 * closed
