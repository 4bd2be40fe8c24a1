"""Charge per phase, ring contact area, charge density and Shannon k: hand-worked numbers."""

import math

import pytest

from thecal.stimulation.battery import energy_per_pulse, stored_energy, time_to_empty
from thecal.stimulation.charge import charge_density, charge_per_phase, shannon_k
from thecal.stimulation.contacts import ring_area
from thecal.units import Q_

from .helpers import check, program


def test_issue_worked_example_ring_contact() -> None:
    # 1.3 mm x 3 mm ring: A = pi x 0.13 cm x 0.3 cm = 0.12252 cm2.
    a = ring_area(Q_(1.3, "mm"), Q_(3, "mm"))
    assert a.to("cm**2").magnitude == pytest.approx(0.12252, abs=1e-5)
    # Q = 5 mA x 300 us = 1500 nC = 1.5 uC per phase.
    q = charge_per_phase(Q_(5, "mA"), Q_(300, "us"))
    assert q.to("uC").magnitude == pytest.approx(1.5)
    # D = 1.5 uC / 0.12252 cm2 = 12.24 uC/cm2.
    d = charge_density(q, a)
    assert d.to("uC/cm**2").magnitude == pytest.approx(12.24, abs=0.01)
    # k = log10(12.24) + log10(1.5) = 1.0878 + 0.1761 = 1.264.
    k = shannon_k(d, q)
    assert k == pytest.approx(1.26, abs=0.005)


def test_issue_example_through_the_whole_check() -> None:
    result = check(program())
    (cathode, anode) = result.areas[0].programmed
    assert cathode.contact.label == "L1:1" and anode.contact.label == "L1:2"
    assert cathode.charge.to("uC").magnitude == pytest.approx(1.5)
    assert cathode.density.to("uC/cm**2").magnitude == pytest.approx(12.24, abs=0.01)
    assert cathode.k == pytest.approx(1.264, abs=0.001)
    assert result.findings and not result.blocked  # info only (inputs not public)


def test_medtronic_3387_test_vectors() -> None:
    # 3387: 1.27 mm x 1.5 mm ring: A = pi x 0.127 cm x 0.15 cm = 0.05985 cm2.
    a = ring_area(Q_(1.27, "mm"), Q_(1.5, "mm"))
    assert a.to("cm**2").magnitude == pytest.approx(0.0598, abs=1e-4)
    # 30 uC/cm2 x 0.05985 cm2 = 1.80 uC per phase = 3.99 mA at 450 us.
    q30 = Q_(30, "uC/cm**2") * a
    assert q30.to("uC").magnitude == pytest.approx(1.80, abs=0.01)
    assert (q30 / Q_(450, "us")).to("mA").magnitude == pytest.approx(3.99, abs=0.01)
    # Shannon: log10(Q/A) + log10(Q) = k  =>  Q = sqrt(A x 10^k).
    for k, q_expected, d_expected in ((1.85, 2.06, 34.4), (1.5, 1.38, 23.0)):
        q = Q_(math.sqrt(a.to("cm**2").magnitude * 10**k), "uC")
        assert q.magnitude == pytest.approx(q_expected, abs=0.01)
        d = charge_density(q, a)
        assert d.magnitude == pytest.approx(d_expected, abs=0.1)
        assert shannon_k(d, q) == pytest.approx(k)


def test_no_charge_has_no_k() -> None:
    # log10(0) is minus infinity: no charge, nothing to compare (not a broken limit).
    q = charge_per_phase(Q_(0, "mA"), Q_(300, "us"))
    assert shannon_k(charge_density(q, Q_(0.1, "cm**2")), q) is None
    result = check(program())
    assert result.areas[0].programmed[0].k is not None


def test_energy_per_pulse_and_closed_form_longevity() -> None:
    # E = I^2 Z PW = (0.005 A)^2 x 800 Ohm x 300e-6 s = 6e-6 J = 6 uJ.
    e = energy_per_pulse(Q_(5, "mA"), Q_(800, "ohm"), Q_(300, "us"))
    assert e.to("uJ").magnitude == pytest.approx(6.0)
    # 300 mAh x 3 V = 0.9 Ah V = 3240 J; at 100 uW: 3.24e7 s = 1.0267 years (365.2425 d).
    stored = stored_energy(Q_(300, "mAh"), Q_(3, "V"))
    assert stored.to("J").magnitude == pytest.approx(3240)
    life = time_to_empty(stored, Q_(100, "uW"))
    assert life is not None
    assert life.to("s").magnitude == pytest.approx(3.24e7)
    assert time_to_empty(stored, Q_(0, "uW")) is None
