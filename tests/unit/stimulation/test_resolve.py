"""Untrusted program files: every error names its field; nothing is guessed."""

from typing import Any

import pytest

from thecal.units import InputError

from .helpers import RING, area, check, program, resolved


def error(data: dict[str, Any]) -> InputError:
    with pytest.raises(InputError) as exc:
        resolved(data)
    return exc.value


def two_cathodes(first: str | None, second: str | None) -> dict[str, Any]:
    contacts: list[dict[str, Any]] = [
        {"lead": "L1", "index": 1, "polarity": "cathode", "fraction": first},
        {"lead": "L1", "index": 3, "polarity": "cathode", "fraction": second},
        {"lead": "case", "polarity": "anode"},
    ]
    for c in contacts:
        if c.get("fraction") is None:
            c.pop("fraction", None)
    return program(area(contacts=contacts))


def test_fractions_must_add_up_to_one() -> None:
    # 60 % + 40 % = 100 %: fine; each cathode carries its share of 5 mA.
    ok = check(two_cathodes("60 %", "40 %"))
    currents = [c.current.to("mA").magnitude for c in ok.areas[0].programmed]
    assert currents == pytest.approx([3.0, 2.0])
    e = error(two_cathodes("60 %", "50 %"))
    assert e.field == "areas[0].contacts" and "1.1" in e.message
    e = error(two_cathodes(None, None))  # two defaults of 100 %: 200 %
    assert e.field == "areas[0].contacts"
    assert error(two_cathodes("0 %", "100 %")).field == "areas[0].contacts[0].fraction"
    assert error(two_cathodes("120 %", "0.2")).field == "areas[0].contacts[0].fraction"


@pytest.mark.parametrize(
    ("contacts", "field"),
    [
        ([{"lead": "L1", "index": 1, "polarity": "cathode"},
          {"lead": "L1", "index": 2, "polarity": "off"}], "areas[0].contacts"),  # no anode
        ([{"lead": "case", "polarity": "cathode"},
          {"lead": "L1", "index": 2, "polarity": "anode"}], "areas[0].contacts[0].polarity"),
        ([{"lead": "L9", "index": 1, "polarity": "cathode"},
          {"lead": "case", "polarity": "anode"}], "areas[0].contacts[0].lead"),
        ([{"lead": "L1", "index": 8, "polarity": "cathode"},
          {"lead": "case", "polarity": "anode"}], "areas[0].contacts[0].index"),
        ([{"lead": "L1", "polarity": "cathode"},
          {"lead": "case", "polarity": "anode"}], "areas[0].contacts[0].index"),
        ([{"lead": "L1", "index": 1, "polarity": "cathode"},
          {"lead": "L1", "index": 1, "polarity": "anode"}], "areas[0].contacts[1]"),
        ([{"lead": "L1", "index": 1, "polarity": "cathode"},
          {"lead": "case", "index": 0, "polarity": "anode"}], "areas[0].contacts[1].index"),
    ],
)  # fmt: skip
def test_contact_errors_name_the_field(contacts: list[dict[str, Any]], field: str) -> None:
    assert error(program(area(contacts=contacts))).field == field


def test_the_case_may_be_the_anode() -> None:
    result = check(program(area(contacts=[
        {"lead": "L1", "index": 1, "polarity": "cathode"}, {"lead": "case", "polarity": "anode"},
    ])))  # fmt: skip
    assert [c.contact.label for c in result.areas[0].programmed] == ["L1:1"]  # case skipped


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amplitude": "5 V"}, "areas[0].amplitude"),  # current mode wants mA
        ({"amplitude": "nan mA"}, "areas[0].amplitude"),
        ({"amplitude": "5"}, "areas[0].amplitude"),
        ({"amplitude": "-1 mA"}, "areas[0].amplitude"),
        ({"pulse_width": "0 us"}, "areas[0].pulse_width"),
        ({"pulse_width": "300 mA"}, "areas[0].pulse_width"),
        ({"rate": "0 Hz"}, "areas[0].rate"),
        ({"rate": "inf Hz"}, "areas[0].rate"),
        ({"mode": "voltage", "amplitude": "4 V"}, "areas[0].impedance"),
        ({"impedance": "0 Ohm"}, "areas[0].impedance"),
        ({"waveform": "burst"}, "areas[0].burst"),
        ({"burst": {"pulses": 5, "burst_rate": "40 Hz"}}, "areas[0].burst"),
        ({"patient_max": "4 mA"}, "areas[0].patient_max"),  # below the 5 mA programmed
        ({"patient_min": "6 mA"}, "areas[0].patient_min"),
        ({"cycling": {"on": "0 s", "off": "10 s"}}, "areas[0].cycling.on"),
        ({"colour": "red"}, "areas[0].colour"),
    ],
)
def test_area_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    assert error(program(area(**changes))).field == field


def test_at_most_four_areas() -> None:
    assert len(check(program(*(area(name=str(i)) for i in range(4)))).areas) == 4
    assert error(program(*(area(name=str(i)) for i in range(5)))).field == "areas"


def test_a_lead_without_public_geometry_asks_for_it() -> None:
    # The catalog cites no kind for the SCS leads: the file gives it, then the geometry.
    e = error(program(leads=[{"name": "L1", "model": "Vectris 977A2"}]))
    assert e.field == "leads[0].kind" and "no source" in e.message
    assert "Vectris 977A2" in e.message
    e = error(program(leads=[{"name": "L1", "model": "Vectris 977A2", "kind": "percutaneous"}]))
    assert e.field == "leads[0].diameter" and "not public" in e.message
    e = error(program(leads=[{"name": "L1", "model": "Specify", "kind": "paddle"}]))
    assert e.field == "leads[0].contact_area"
    e = error(program(leads=[{"name": "L1", "kind": "percutaneous", "diameter": "1.3 mm"}]))
    assert e.field == "leads[0].diameter"
    ok = check(program(leads=[{"name": "L1", "model": "Vectris 977A2", "kind": "percutaneous",
                               "contacts": 8, "diameter": "1.3 mm",
                               "contact_length": "3 mm"}]))  # fmt: skip
    assert ok.areas[0].programmed[0].k == pytest.approx(1.264, abs=0.001)


def test_catalog_geometry_is_used_and_not_overridden_in_the_file() -> None:
    # 3387: 1.27 mm x 1.5 mm = 0.05985 cm2; 5 mA x 300 us = 1.5 uC; 25.06 uC/cm2;
    # k = log10 25.06 + log10 1.5 = 1.399 + 0.176 = 1.575: above 1.5, refused.
    result = check(program(leads=[{"name": "L1", "model": "Medtronic 3387"}]))
    assert result.areas[0].programmed[0].density.magnitude == pytest.approx(25.06, abs=0.01)
    assert result.blocked
    e = error(program(leads=[{"name": "L1", "model": "Medtronic 3387", "diameter": "2 mm"}]))
    assert e.field == "leads[0].diameter"
    e = error(program(leads=[{"name": "L1", "model": "Medtronic 3387", "kind": "paddle"}]))
    assert e.field == "leads[0].kind"


def test_lead_names() -> None:
    assert error(program(leads=[{**RING, "name": "case"}])).field == "leads[0].name"
    assert error(program(leads=[RING, RING])).field == "leads[1].name"
    assert error(program(leads=[{**RING, "model": "Nope"}])).field == "leads[0].model"


def test_ipg_values_the_catalog_has_are_not_overridden_in_the_file() -> None:
    e = error(program(ipg={"model": "OpenNerve IPG", "amplitude_max": "10 mA"}))
    assert e.field == "ipg.amplitude_max" and "catalog already has" in e.message
    e = error(program(ipg={"model": "OpenNerve IPG", "battery": "primary"}))
    assert e.field == "ipg.battery"
    assert error(program(ipg={"model": "Nope"})).field == "ipg.model"
    e = error(program(ipg={"model": "Eterna", "efficiency": "150 %"}))
    assert e.field == "ipg.efficiency"
    e = error(program(ipg={"model": "Eterna", "available_voltage": "0 V"}))
    assert e.field == "ipg.available_voltage"


def test_a_fraction_may_be_a_plain_number() -> None:
    contacts = [
        {"lead": "L1", "index": 1, "polarity": "cathode", "fraction": 0.25},
        {"lead": "L1", "index": 3, "polarity": "cathode", "fraction": "75 %"},
        {"lead": "case", "polarity": "anode", "fraction": 1},
    ]
    result = check(program(area(contacts=contacts)))
    currents = [c.current.to("mA").magnitude for c in result.areas[0].programmed]
    assert currents == pytest.approx([1.25, 3.75])  # 25 % and 75 % of 5 mA
    contacts[0]["fraction"] = True
    assert error(program(area(contacts=contacts))).field == "areas[0].contacts[0].fraction"
    contacts[0]["fraction"] = float("nan")
    assert error(program(area(contacts=contacts))).field == "areas[0].contacts[0].fraction"
