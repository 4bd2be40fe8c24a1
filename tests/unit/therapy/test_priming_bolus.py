"""Priming bolus after implant or catheter revision, and the implanted catheter volume."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.findings import Code, Level
from thecal.therapy.priming_bolus import (
    PRIMING_SOURCE,
    catheter_volume,
    catheter_volume_per_length,
    implanted_catheter_volume,
    priming_bolus,
)
from thecal.units import Q_, InputError

SYNCHROMED = "SynchroMed II 8637-20"
PROMETRA_PUMP = "Prometra II 20 mL"
PROMETRA_CATHETER = "Prometra catheter"
MEDTRONIC_CATHETER = "Medtronic intrathecal catheter"
# Seed 003 case 2: ziconotide 10 mcg/mL at 2.5 mcg/d → 2.5 ÷ 10 = 0.25 mL/d.
SEED_003_BASAL = Q_("0.25 mL/d")


def test_prometra_implanted_volume_manual_formula(catalog: DeviceCatalog) -> None:
    # Prometra II manual p.33: (110 − trimmed) cm × 0.0026 mL/cm; 70 cm trimmed off:
    # (110 − 70) × 0.0026 = 40 × 0.0026 = 0.104 mL
    v = implanted_catheter_volume(catalog.catheter(PROMETRA_CATHETER), Q_("70 cm"))
    assert v.volume.to("mL").magnitude == pytest.approx(0.104)
    assert "110 cm" in v.formula and "70 cm" in v.formula and "0.0026 mL/cm" in v.formula
    assert "0.104 mL" in v.formula
    assert "Prometra II manual p.33" in v.source
    # Nothing trimmed: 110 × 0.0026 = 0.286 mL; all trimmed: 0 mL
    full = implanted_catheter_volume(catalog.catheter(PROMETRA_CATHETER), Q_("0 cm"))
    assert full.volume.to("mL").magnitude == pytest.approx(0.286)
    # Units are converted: 0.7 m = 70 cm
    metres = implanted_catheter_volume(catalog.catheter(PROMETRA_CATHETER), Q_("0.7 m"))
    assert metres.volume.to("mL").magnitude == pytest.approx(0.104)


def test_trimmed_length_outside_catheter_is_rejected(catalog: DeviceCatalog) -> None:
    cath = catalog.catheter(PROMETRA_CATHETER)
    for bad in ("120 cm", "-1 cm"):
        with pytest.raises(InputError) as exc:
            implanted_catheter_volume(cath, Q_(bad))
        assert exc.value.field == "catheter.trimmed_length"


def test_medtronic_volume_per_cm_is_not_public(catalog: DeviceCatalog) -> None:
    cath = catalog.catheter(MEDTRONIC_CATHETER)
    with pytest.raises(InputError) as exc:
        catheter_volume_per_length(cath)
    assert exc.value.field == "catheter.volume_per_length"
    assert "not public" in exc.value.message and MEDTRONIC_CATHETER in exc.value.message
    with pytest.raises(InputError) as exc:
        implanted_catheter_volume(cath, Q_("10 cm"))
    assert exc.value.field == "catheter.volume_per_length"
    # Entered from the catheter's labelling, it is used (value made up for the test).
    assert catheter_volume_per_length(cath, Q_("0.002 mL/cm")).magnitude == pytest.approx(0.002)
    # … but the catalog has no full length for it either.
    with pytest.raises(InputError) as exc:
        implanted_catheter_volume(cath, Q_("10 cm"), Q_("0.002 mL/cm"))
    assert exc.value.field == "catheter.full_length"


def test_priming_without_volume_per_cm_names_the_field(catalog: DeviceCatalog) -> None:
    with pytest.raises(InputError) as exc:
        priming_bolus(
            None, Q_("40 cm"), None, False, catalog.pump(SYNCHROMED), None, SEED_003_BASAL
        )
    assert exc.value.field == "catheter.volume_per_length"
    assert "not public" in exc.value.message


def test_priming_prometra_catheter_seed_003_basal(catalog: DeviceCatalog) -> None:
    vpl = catalog.catheter(PROMETRA_CATHETER).volume_per_length
    p = priming_bolus(vpl, Q_("40 cm"), None, False, catalog.pump(PROMETRA_PUMP), None,
                      SEED_003_BASAL)  # fmt: skip
    # 40 cm × 0.0026 mL/cm = 0.104 mL
    assert p.volume.to("mL").magnitude == pytest.approx(0.104)
    assert p.internal_volume is None
    assert p.formula == "priming volume = catheter volume = 40 cm × 0.0026 mL/cm = 0.104 mL"
    # at 0.25 mL/d: 0.104 ÷ 0.25 = 0.416 d = 9.984 h
    assert p.time_to_tip_days.to("d").magnitude == pytest.approx(0.416)
    assert p.time_to_tip.to("h").magnitude == pytest.approx(9.984)
    codes = {f.code: f for f in p.findings}
    assert set(codes) == {Code.PRIMING_VOLUME, Code.PRIMING_MIXING}
    assert all(f.level is Level.INFO for f in p.findings)
    mixing = codes[Code.PRIMING_MIXING]
    assert mixing.source == PRIMING_SOURCE == "Medtronic reference guide; FDA recall notices"
    assert "mix" in mixing.message and "lower concentration" in mixing.message
    volume = codes[Code.PRIMING_VOLUME]
    assert p.formula in volume.message and "9.98 h" in volume.message
    assert "recall" in volume.source


def test_new_pump_adds_tubing_which_must_be_entered(catalog: DeviceCatalog) -> None:
    pump = catalog.pump(SYNCHROMED)
    with pytest.raises(InputError) as exc:
        priming_bolus(None, None, Q_("0.104 mL"), True, pump, None, SEED_003_BASAL)
    assert exc.value.field == "internal_volume" and "not public" in exc.value.message
    # internal volume entered (test value): 0.104 + 0.2 = 0.304 mL
    p = priming_bolus(None, None, Q_("0.104 mL"), True, pump, Q_("0.2 mL"), SEED_003_BASAL)
    assert p.volume.to("mL").magnitude == pytest.approx(0.304)
    assert p.internal_volume_source == "entered by the clinician"
    assert "0.2 mL" in p.formula and "0.304 mL" in p.formula and "entered" in p.formula
    # 0.304 ÷ 0.25 = 1.216 d = 29.184 h
    assert p.time_to_tip.to("h").magnitude == pytest.approx(29.184)
    # Tubing not included: the internal volume is not asked for.
    q = priming_bolus(None, None, Q_("0.104 mL"), False, pump, None, SEED_003_BASAL)
    assert q.volume.to("mL").magnitude == pytest.approx(0.104)


def test_seed_000_spliced_segment(catalog: DeviceCatalog) -> None:
    # Seed 000: a calcified segment spliced out and replaced. Prime the new segment and the
    # catheter beyond it, here 25 cm of a catheter with a clinician-entered 0.002 mL/cm:
    # 25 × 0.002 = 0.05 mL; at 0.5 mL/d → 0.1 d = 2.4 h
    p = priming_bolus(Q_("0.002 mL/cm"), Q_("25 cm"), None, False, catalog.pump(SYNCHROMED),
                      None, Q_("0.5 mL/d"))  # fmt: skip
    assert p.volume.to("mL").magnitude == pytest.approx(0.05)
    assert p.time_to_tip.to("h").magnitude == pytest.approx(2.4)


def test_entered_catheter_volume_wins() -> None:
    v = catheter_volume(Q_("0.0026 mL/cm"), Q_("40 cm"), Q_("0.2 mL"))
    assert v.volume.to("mL").magnitude == pytest.approx(0.2)
    assert "entered" in v.formula


@pytest.mark.parametrize(
    ("vpl", "length", "entered", "field"),
    [
        (None, None, None, "catheter.length"),
        (Q_("0.0026 mL/cm"), Q_("0 cm"), None, "catheter.length"),
        (Q_("0.0026 mL/cm"), Q_("40 mL"), None, "catheter.length"),
        (Q_("0.0026 mL"), Q_("40 cm"), None, "catheter.volume_per_length"),
        (None, None, Q_("-0.1 mL"), "catheter.volume"),
    ],
)
def test_bad_catheter_input(vpl: object, length: object, entered: object, field: str) -> None:
    with pytest.raises(InputError) as exc:
        catheter_volume(vpl, length, entered)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_basal_rate_needs_a_time_base(catalog: DeviceCatalog) -> None:
    for bad in (Q_("0.25 mL"), Q_("0 mL/d")):
        with pytest.raises(InputError) as exc:
            priming_bolus(None, None, Q_("0.1 mL"), False, catalog.pump(SYNCHROMED), None, bad)
        assert exc.value.field == "basal_rate"


@settings(max_examples=200, deadline=None)
@given(
    vpl=st.floats(0.0005, 0.01),
    length=st.floats(1, 150),
    internal=st.floats(0, 2),
    basal=st.floats(0.048, 20),
)
def test_priming_invariants(
    catalog: DeviceCatalog, vpl: float, length: float, internal: float, basal: float
) -> None:
    pump = catalog.pump(SYNCHROMED)
    args = (Q_(vpl, "mL/cm"), Q_(length, "cm"), None)
    with_tubing = priming_bolus(*args, True, pump, Q_(internal, "mL"), Q_(basal, "mL/d"))
    without = priming_bolus(*args, False, pump, None, Q_(basal, "mL/d"))
    # The parts add up, and the tubing never makes the volume smaller.
    assert with_tubing.volume.to("mL").magnitude == pytest.approx(vpl * length + internal)
    assert with_tubing.volume >= without.volume
    # time × basal rate = the volume the basal flow must push out first
    for p in (with_tubing, without):
        assert (p.time_to_tip * p.basal_rate).to("mL").magnitude == pytest.approx(
            p.volume.to("mL").magnitude
        )
        assert p.time_to_tip_days.to("h").magnitude == pytest.approx(p.time_to_tip.magnitude)
