"""Bridge bolus: old fill in the pump tubing and catheter after a concentration change."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.bridge_bolus import bridge_bolus
from thecal.therapy.bridge_findings import BRIDGE_SOURCE
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.pump import PumpKind, PumpSpec
from thecal.units import Q_, InputError

SYNCHROMED = "SynchroMed II 8637-20"
# The internal volume of the shipped pumps is not public: tests enter an arbitrary value, which
# is what a clinician does from the labelling of the pump in hand.
INTERNAL = Q_("0.25 mL")
CATHETER = Q_("0.15 mL")


def mix(library: DrugLibrary, *pairs: tuple[str, str]) -> Admixture:
    return make_admixture([(library.get(d), Q_(c)) for d, c in pairs])


def test_morphine_10_to_25_at_constant_5_mg_per_day(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("morphine", "25 mg/mL"))
    new_rate = new.flow_for("morphine", Q_("5 mg/d"))  # 5 mg/d ÷ 25 mg/mL = 0.2 mL/d
    b = bridge_bolus(old, new, new_rate, catalog.pump(SYNCHROMED), CATHETER, INTERNAL)
    assert b.needed
    # dead volume = 0.25 mL + 0.15 mL = 0.4 mL
    assert b.dead_volume is not None and b.dead_volume.to("mL").magnitude == pytest.approx(0.4)
    assert "0.25 mL" in b.dead_volume_formula and "0.15 mL" in b.dead_volume_formula
    assert "entered" in b.dead_volume_formula
    # clearing time = 0.4 mL ÷ 0.2 mL/d = 2 d = 48 h
    assert b.clear_time is not None and b.clear_time.to("h").magnitude == pytest.approx(48.0)
    (m,) = b.drugs
    # delivered 10 mg/mL × 0.4 mL = 4 mg; intended 25 mg/mL × 0.4 mL = 10 mg; 4 − 10 = −6 mg
    assert m.delivered.to("mg").magnitude == pytest.approx(4.0)
    assert m.intended.to("mg").magnitude == pytest.approx(10.0)
    assert m.difference.to("mg").magnitude == pytest.approx(-6.0)
    assert m.direction == "shortfall"
    # daily: 10 mg/mL × 0.2 mL/d = 2 mg/d instead of 25 × 0.2 = 5 mg/d
    assert m.delivered_daily.to("mg/d").magnitude == pytest.approx(2.0)
    assert m.intended_daily.to("mg/d").magnitude == pytest.approx(5.0)
    p = b.program
    assert p is not None and p.target_drug == "morphine"
    # bridge rate = 5 mg/d ÷ 10 mg/mL (old) = 0.5 mL/d; duration = 0.4 mL ÷ 0.5 mL/d = 0.8 d
    assert p.rate.to("mL/d").magnitude == pytest.approx(0.5)
    assert p.duration.to("h").magnitude == pytest.approx(19.2)  # 0.8 d × 24 h/d
    assert p.then_rate.to("mL/d").magnitude == pytest.approx(0.2)
    assert p.doses["morphine"].to("mg").magnitude == pytest.approx(4.0)  # 10 mg/mL × 0.4 mL
    assert p.dose_rates["morphine"].to("mg/d").magnitude == pytest.approx(5.0)
    assert "10 mg/mL" in p.formula and "0.5 mL/d" in p.formula
    (f,) = b.findings
    assert (f.level, f.code, f.source) == (Level.INFO, Code.BRIDGE_BOLUS, BRIDGE_SOURCE)
    assert f.source == "ITB best practices (Saulino 2016)"
    assert "shortfall 6 mg" in f.message and "0.5 mL/d" in f.message
    assert f.limit is not None and f.value is not None
    assert (f.limit.to("mg/d").magnitude, f.value.to("mg/d").magnitude) == pytest.approx((5, 2))


def test_lower_concentration_is_an_excess_until_cleared(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    old = mix(library, ("morphine", "25 mg/mL"))
    new = mix(library, ("morphine", "10 mg/mL"))
    rate = Q_("0.5 mL/d")  # 10 mg/mL × 0.5 mL/d = 5 mg/d
    b = bridge_bolus(old, new, rate, catalog.pump(SYNCHROMED), CATHETER, INTERNAL)
    (m,) = b.drugs
    # 25 mg/mL × 0.4 mL = 10 mg delivered vs 10 mg/mL × 0.4 mL = 4 mg intended: +6 mg
    assert m.difference.to("mg").magnitude == pytest.approx(6.0)
    assert m.direction == "excess"
    # 25 mg/mL × 0.5 mL/d = 12.5 mg/d instead of 5 mg/d; clears in 0.4 ÷ 0.5 = 0.8 d = 19.2 h
    assert m.delivered_daily.to("mg/d").magnitude == pytest.approx(12.5)
    assert b.clear_time is not None and b.clear_time.to("h").magnitude == pytest.approx(19.2)
    assert b.program is not None
    # bridge rate = 5 mg/d ÷ 25 mg/mL = 0.2 mL/d, for 0.4 ÷ 0.2 = 2 d = 48 h
    assert b.program.rate.to("mL/d").magnitude == pytest.approx(0.2)
    assert b.program.duration.to("h").magnitude == pytest.approx(48.0)
    assert "excess 6 mg" in b.findings[0].message


def test_internal_volume_not_public_is_required(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("morphine", "25 mg/mL"))
    with pytest.raises(InputError) as exc:
        bridge_bolus(old, new, Q_("0.2 mL/d"), catalog.pump(SYNCHROMED), CATHETER)
    assert exc.value.field == "internal_volume"
    assert "not public" in exc.value.message


def test_catalog_internal_volume_is_used_with_its_source(library: DrugLibrary) -> None:
    # A clinic's own catalog entry (value and source are the clinic's, made up for the test).
    pump = PumpSpec(
        "clinic pump",
        PumpKind.PERISTALTIC,
        True,
        internal_volume=Q_("0.3 mL"),
        sources=(("internal_volume", "clinic catalog, pump labelling"),),
    )
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("morphine", "20 mg/mL"))
    b = bridge_bolus(old, new, Q_("0.25 mL/d"), pump, Q_("0.1 mL"))
    # 0.3 + 0.1 = 0.4 mL; entered value would win, none entered here
    assert b.dead_volume is not None and b.dead_volume.to("mL").magnitude == pytest.approx(0.4)
    assert b.internal_volume_source == "clinic catalog, pump labelling"
    assert "clinic catalog" in b.dead_volume_formula
    b2 = bridge_bolus(old, new, Q_("0.25 mL/d"), pump, Q_("0.1 mL"), Q_("0.2 mL"))
    assert b2.dead_volume is not None  # entered 0.2 wins: 0.2 + 0.1 = 0.3 mL
    assert b2.dead_volume.to("mL").magnitude == pytest.approx(0.3)


def test_same_concentration_needs_no_bridge(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("morphine", "0.01 g/mL"))  # the same concentration in other units
    # No internal volume entered: not needed when nothing changes.
    b = bridge_bolus(old, new, Q_("0.5 mL/d"), catalog.pump(SYNCHROMED), CATHETER)
    assert not b.needed and b.program is None and b.dead_volume is None
    (f,) = b.findings
    assert f.code is Code.BRIDGE_NOT_NEEDED and f.level is Level.INFO
    assert "no bridge" in f.message
    b2 = bridge_bolus(old, new, Q_("0.5 mL/d"), catalog.pump(SYNCHROMED), CATHETER, INTERNAL)
    assert not b2.needed
    # with the internal volume known the dead volume is still shown: 0.25 + 0.15 = 0.4 mL,
    # clearing at 0.5 mL/d takes 0.8 d = 19.2 h
    assert b2.dead_volume is not None and b2.dead_volume.to("mL").magnitude == pytest.approx(0.4)
    assert b2.clear_time is not None and b2.clear_time.to("h").magnitude == pytest.approx(19.2)


def test_admixture_other_drugs_during_bridge(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    old = mix(library, ("morphine", "10 mg/mL"), ("bupivacaine", "5 mg/mL"))
    new = mix(library, ("morphine", "25 mg/mL"), ("bupivacaine", "10 mg/mL"))
    pump = catalog.pump(SYNCHROMED)
    with pytest.raises(InputError) as exc:
        bridge_bolus(old, new, Q_("0.2 mL/d"), pump, CATHETER, INTERNAL)
    assert exc.value.field == "target_drug"
    assert exc.value.expected is not None and "bupivacaine" in exc.value.expected
    b = bridge_bolus(old, new, Q_("0.2 mL/d"), pump, CATHETER, INTERNAL, "Infumorph")
    p = b.program
    assert p is not None and p.target_drug == "morphine"
    # morphine intended 25 × 0.2 = 5 mg/d; bridge rate 5 ÷ 10 = 0.5 mL/d
    assert p.rate.to("mL/d").magnitude == pytest.approx(0.5)
    # bupivacaine during the bridge: 5 mg/mL × 0.5 mL/d = 2.5 mg/d (new program: 10 × 0.2 = 2)
    assert p.dose_rates["bupivacaine"].to("mg/d").magnitude == pytest.approx(2.5)
    assert p.intended_dose_rates["bupivacaine"].to("mg/d").magnitude == pytest.approx(2.0)
    assert p.doses["bupivacaine"].to("mg").magnitude == pytest.approx(2.0)  # 5 mg/mL × 0.4 mL
    bupi = [f for f in b.findings if f.drug == "bupivacaine"]
    assert len(bupi) == 1 and "2.5 mg/d" in bupi[0].message
    # without a bridge bupivacaine: 5 × 0.4 = 2 mg vs 10 × 0.4 = 4 mg → shortfall 2 mg
    by = {d.drug: d for d in b.drugs}
    assert by["bupivacaine"].difference.to("mg").magnitude == pytest.approx(-2.0)


def test_target_must_be_in_both_fills(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("morphine", "10 mg/mL"), ("bupivacaine", "5 mg/mL"))
    with pytest.raises(InputError) as exc:
        bridge_bolus(
            old, new, Q_("0.5 mL/d"), catalog.pump(SYNCHROMED), CATHETER, INTERNAL, "bupivacaine"
        )
    assert exc.value.field == "target_drug" and "not in the old fill" in exc.value.message


def test_drug_switch_has_no_bridge_program(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("ziconotide", "10 mcg/mL"))
    b = bridge_bolus(old, new, Q_("0.25 mL/d"), catalog.pump(SYNCHROMED), CATHETER, INTERNAL)
    assert b.needed and b.program is None
    by = {d.drug: d for d in b.drugs}
    # ziconotide: 0 delivered vs 10 mcg/mL × 0.4 mL = 4 mcg intended
    assert by["ziconotide"].intended.to("ug").magnitude == pytest.approx(4.0)
    assert by["ziconotide"].direction == "shortfall"
    # morphine: 10 mg/mL × 0.4 mL = 4 mg still delivered, none intended
    assert by["morphine"].delivered.to("mg").magnitude == pytest.approx(4.0)
    assert by["morphine"].direction == "excess"
    assert b.findings[0].code is Code.BRIDGE_BOLUS and "share no drug" in b.findings[0].message


@pytest.mark.parametrize(
    ("rate", "catheter", "field"),
    [
        (Q_("5 mg/d"), CATHETER, "new_rate"),  # a dose, not a flow
        (Q_("0 mL/d"), CATHETER, "new_rate"),
        (Q_("0.2 mL/d"), Q_("-0.1 mL"), "catheter_volume"),
        (Q_("0.2 mL/d"), Q_("10 cm"), "catheter_volume"),
    ],
)
def test_bad_input_names_the_field(
    library: DrugLibrary, catalog: DeviceCatalog, rate: object, catheter: object, field: str
) -> None:
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("morphine", "25 mg/mL"))
    with pytest.raises(InputError) as exc:
        bridge_bolus(old, new, rate, catalog.pump(SYNCHROMED), catheter, INTERNAL)  # type: ignore[arg-type]
    assert exc.value.field == field


@settings(max_examples=200, deadline=None)
@given(
    old_c=st.floats(0.5, 50),
    new_c=st.floats(0.5, 50),
    dose=st.floats(0.1, 30),
    internal=st.floats(0.0, 2.0),
    catheter=st.floats(0.01, 1.0),
)
def test_bridge_invariants(
    library: DrugLibrary,
    catalog: DeviceCatalog,
    old_c: float,
    new_c: float,
    dose: float,
    internal: float,
    catheter: float,
) -> None:
    old = make_admixture([(library.get("morphine"), Q_(old_c, "mg/mL"))])
    new = make_admixture([(library.get("morphine"), Q_(new_c, "mg/mL"))])
    rate = new.flow_for("morphine", Q_(dose, "mg/d"))
    b = bridge_bolus(
        old, new, rate, catalog.pump(SYNCHROMED), Q_(catheter, "mL"), Q_(internal, "mL")
    )
    if not b.needed:
        assert old_c == pytest.approx(new_c, rel=1e-9)
        return
    p = b.program
    assert p is not None and b.dead_volume is not None
    dead = internal + catheter
    # The bridge holds the intended dose with the old fluid …
    assert (old_c * p.rate.to("mL/d").magnitude) == pytest.approx(dose, rel=1e-9)
    # … for exactly as long as the dead volume takes at that rate.
    assert (p.rate * p.duration).to("mL").magnitude == pytest.approx(dead, rel=1e-9)
    # Without the bridge the error has the sign of the concentration change and this size.
    (m,) = b.drugs
    assert m.difference.to("mg").magnitude == pytest.approx((old_c - new_c) * dead, abs=1e-9)
    # The bridge delivers the same total mass of the old fluid as clearing at the new rate.
    assert p.doses["morphine"].to("mg").magnitude == pytest.approx(m.delivered.magnitude)
