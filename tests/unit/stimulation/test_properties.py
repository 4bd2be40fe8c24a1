"""Invariants over random programs (hypothesis)."""

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.stimulation.battery import stored_energy, time_to_empty
from thecal.stimulation.compliance import delivered_current
from thecal.stimulation.program import Area, ContactSetting, Mode, Polarity, Waveform, WaveformKind
from thecal.therapy.findings import Code
from thecal.units import Q_, InputError

from .helpers import RING, SHIPPED, area, check, codes

PROPS = settings(max_examples=60, deadline=None)


def zero_or(low: float, high: float) -> st.SearchStrategy[float]:
    """0 or a value in [low, high]: no subnormal floats (the parser's window is 1e-20..1e20)."""
    return st.one_of(st.just(0.0), st.floats(low, high))


@st.composite
def programs(draw: st.DrawFn) -> tuple[dict[str, Any], float]:
    """A program on one ring lead (random geometry), 1-4 areas, each with 1-3 cathodes
    sharing the current by random weights, the case as anode, and maybe a patient range.
    Returns the program and the contact area (cm2) computed here, independently."""
    d_mm = draw(st.floats(0.5, 2.0))
    h_mm = draw(st.floats(1.0, 6.0))
    areas = []
    for n in range(draw(st.integers(1, 4))):
        amp = draw(zero_or(1e-3, 15.0))
        weights = draw(st.lists(st.floats(0.05, 1.0), min_size=1, max_size=3))
        total = sum(weights)
        contacts: list[dict[str, Any]] = [
            {"lead": "L1", "index": i, "polarity": "cathode", "fraction": repr(w / total)}
            for i, w in enumerate(weights)
        ]
        contacts.append({"lead": "case", "polarity": "anode"})
        a: dict[str, Any] = {
            "name": f"a{n}",
            "amplitude": f"{amp!r} mA",
            "pulse_width": f"{draw(st.floats(20.0, 1000.0))!r} us",
            "rate": f"{draw(st.floats(2.0, 500.0))!r} Hz",
            "contacts": contacts,
        }
        if draw(st.booleans()):
            a["patient_max"] = f"{amp + draw(zero_or(1e-3, 10.0))!r} mA"
        areas.append(a)
    leads = [{"name": "L1", "kind": "percutaneous", "contacts": 8,
              "diameter": f"{d_mm!r} mm", "contact_length": f"{h_mm!r} mm"}]  # fmt: skip
    data = {"ipg": {"model": "Eterna"}, "leads": leads, "areas": areas}
    return data, math.pi * (d_mm / 10) * (h_mm / 10)


def _k(current_ma: float, pw_us: float, fraction: float, area_cm2: float) -> float:
    q = current_ma * pw_us / 1000 * fraction  # uC
    return math.log10(q / area_cm2) + math.log10(q) if q > 0 else -math.inf


@PROPS
@given(programs())
def test_no_accepted_program_exceeds_the_k_limit_on_any_contact(
    case: tuple[dict[str, Any], float],
) -> None:
    data, area_cm2 = case
    result = check(data)
    if result.blocked:
        return
    limit = SHIPPED.limits.shannon_k
    for raw in data["areas"]:
        pw = float(raw["pulse_width"].split()[0])
        amplitudes = [float(raw["amplitude"].split()[0])]
        if "patient_max" in raw:
            amplitudes.append(float(raw["patient_max"].split()[0]))  # the top of the range
        for amp in amplitudes:
            for c in raw["contacts"]:
                if c["lead"] == "case":
                    continue
                assert _k(amp, pw, float(c["fraction"]), area_cm2) <= limit + 1e-9


@PROPS
@given(
    st.floats(0.0, 25.0), st.floats(50.0, 20000.0), st.floats(0.5, 20.0),
    st.sampled_from([Mode.CURRENT, Mode.VOLTAGE]),
)  # fmt: skip
def test_delivered_current_never_exceeds_what_voltage_and_impedance_allow(
    amplitude: float, ohms: float, volts: float, mode: Mode
) -> None:
    unit = "mA" if mode is Mode.CURRENT else "V"
    area = Area(
        "x", mode, Q_(amplitude, unit), Q_(300, "us"), Waveform(WaveformKind.TONIC, Q_(50, "Hz")),
        (ContactSetting("L1", 0, Polarity.CATHODE, 1.0), ContactSetting("case", None,
         Polarity.ANODE, 1.0)), impedance=Q_(ohms, "ohm"),
    )  # fmt: skip
    got, limited = delivered_current(area, area.amplitude, Q_(volts, "V"))
    ceiling = volts / ohms * 1000  # mA
    assert got.to("mA").magnitude <= ceiling * (1 + 1e-9)
    asked = amplitude if mode is Mode.CURRENT else amplitude / ohms * 1000
    assert got.to("mA").magnitude <= asked * (1 + 1e-9) + 1e-12
    assert limited == (asked > ceiling * (1 + 1e-9))


@PROPS
@given(st.floats(10.0, 5000.0), st.floats(1.5, 4.5), st.floats(0.1, 1.0),
       zero_or(1e-3, 100.0), zero_or(1e-3, 10.0), st.floats(100.0, 3000.0))  # fmt: skip
def test_primary_longevity_is_the_closed_form_of_the_drain(
    mah: float, volts: float, efficiency: float, quiescent: float, ma: float, ohms: float
) -> None:
    ipg = {"model": "Proclaim XR", "capacity": f"{mah!r} mAh", "cell_voltage": f"{volts!r} V",
           "efficiency": repr(efficiency), "quiescent_power": f"{quiescent!r} uW"}  # fmt: skip
    leads = [{"name": "L1", "kind": "percutaneous", "diameter": "1.3 mm",
              "contact_length": "3 mm"}]  # fmt: skip
    area = {"name": "a", "amplitude": f"{ma!r} mA", "pulse_width": "100 us", "rate": "40 Hz",
            "impedance": f"{ohms!r} Ohm", "contacts": [
                {"lead": "L1", "index": 0, "polarity": "cathode"},
                {"lead": "case", "polarity": "anode"}]}  # fmt: skip
    b = check({"ipg": ipg, "leads": leads, "areas": [area]}).battery
    assert b is not None
    # drain = I^2 Z PW x rate / efficiency + quiescent (uW), computed here independently.
    drain_uw = (ma / 1000) ** 2 * ohms * 100e-6 * 40 / efficiency * 1e6 + quiescent
    assert b.drain.to("uW").magnitude == pytest.approx(drain_uw, rel=1e-9, abs=1e-12)
    energy_j = mah / 1000 * 3600 * volts
    assert b.stored.to("J").magnitude == pytest.approx(energy_j, rel=1e-12)
    if drain_uw == 0:
        assert b.time_to_empty is None
    else:
        assert b.time_to_empty is not None
        years = b.time_to_empty.to("year").magnitude
        assert years * drain_uw * 1e-6 * 365.25 * 86400 == pytest.approx(energy_j, rel=1e-9)
        assert (
            time_to_empty(stored_energy(Q_(mah, "mAh"), Q_(volts, "V")), b.drain) == b.time_to_empty
        )


@PROPS
@given(programs())
def test_no_program_without_a_density_warning_is_above_30_uc_per_cm2(
    case: tuple[dict[str, Any], float],
) -> None:
    data, area_cm2 = case
    result = check(data)
    warned = {Code.STIM_CHARGE_DENSITY_WARNING, Code.STIM_PATIENT_CHARGE_DENSITY_WARNING}
    if codes(result) & warned:
        return
    for raw in data["areas"]:
        pw = float(raw["pulse_width"].split()[0])
        top = float(raw.get("patient_max", raw["amplitude"]).split()[0])
        for c in raw["contacts"]:
            if c["lead"] != "case":
                density = top * pw / 1000 * float(c["fraction"]) / area_cm2  # uC/cm2
                assert density <= 30 * (1 + 1e-9)


_FIELDS = ("amplitude", "pulse_width", "rate", "impedance", "patient_max")


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_FIELDS), st.one_of(st.text(max_size=70), st.floats(), st.integers(),
       st.booleans(), st.none(), st.lists(st.integers(), max_size=2)))  # fmt: skip
def test_untrusted_values_are_refused_by_name_never_crash(field: str, value: object) -> None:
    data = {"ipg": {"model": "OpenNerve IPG"}, "leads": [dict(RING)],
            "areas": [area(**{field: value})]}  # fmt: skip
    try:
        check(data)
    except InputError as exc:
        assert exc.field.startswith("areas[0]"), exc.field
