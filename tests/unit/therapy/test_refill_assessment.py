"""The one refill assessment: its numbers (hand-computed), the gate's refill path, and the hard
findings for physically impossible refills, each on its edge and just past it."""

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.delivery import ReportedBolus
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary, LibraryError, build_library
from thecal.therapy.proposal import RefillProposal
from thecal.therapy.refill_assessment import RefillAssessment, assess_refill
from thecal.therapy.reservoir import Fill, ScheduleChange
from thecal.therapy.safety_gate import check
from thecal.therapy.schedule import Schedule, continuous
from thecal.units import Q_

from .gate_helpers import AT, mix, program

PUMP = "Prometra II 20 mL"  # reservoir 20 mL, low-reservoir alarm 3 mL, accuracy ±15 %
LAST = Fill(Q_("20 mL"), AT - timedelta(days=30))


def _refill(catalog: DeviceCatalog, library: DrugLibrary, **kw: object) -> RefillProposal:
    m = mix(library, ("morphine", "10 mg/mL"))
    prog = program(catalog, m, Schedule(continuous(Q_("0.5 mL/d"))), pump=PUMP)
    fill = kw.pop("fill", Fill(Q_("20 mL"), AT))
    return RefillProposal(prog, fill, **kw)  # type: ignore[arg-type]


def _codes(a: RefillAssessment) -> list[Code]:
    return [f.code for f in a.findings]


def _only(a: RefillAssessment, code: Code):  # type: ignore[no-untyped-def]
    found = [f for f in a.findings if f.code is code]
    assert len(found) == 1, _codes(a)
    return found[0]


def _with_tolerance(library: DrugLibrary, tolerance: str | None) -> DrugLibrary:
    s = library.settings
    return replace(library, settings=replace(
        s, withdrawn_tolerance=None if tolerance is None else Q_(tolerance),
    ))  # fmt: skip


# --- the numbers -----------------------------------------------------------------------------


def test_expected_volume_discrepancy_and_forecast_by_hand(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Last fill 20 mL 30 d ago at 0.5 mL/d; reprogrammed to 0.3 mL/d 10 d ago; the pump
    # reported two patient boluses of 0.1 mL.
    slower = ScheduleChange(AT - timedelta(days=10), Schedule(continuous(Q_("0.3 mL/d"))))
    p = _refill(
        catalog, library, planned_refill=AT + timedelta(days=30), last_fill=LAST,
        withdrawn=Q_("6 mL"), since_changes=(slower,),
        reported=(ReportedBolus(AT - timedelta(days=5), Q_("0.1 mL")),
                  ReportedBolus(AT - timedelta(days=4), Q_("0.1 mL"))),
    )  # fmt: skip
    a = assess_refill(p, library)
    assert a.expected is not None and a.discrepancy is not None and a.forecast is not None
    # delivered = 20 d × 0.5 + 10 d × 0.3 + 2 × 0.1 = 10 + 3 + 0.2 = 13.2 mL; left 20 − 13.2 = 6.8
    assert a.expected.delivered.to("mL").magnitude == pytest.approx(13.2)
    assert a.expected.volume.to("mL").magnitude == pytest.approx(6.8)
    assert a.expected.ran_empty_at is None and not a.expected.from_device
    assert "1 program change" in a.expected.basis and "2 patient boluses" in a.expected.basis
    # discrepancy 6 − 6.8 = −0.8 mL; actual delivered 13.2 + 0.8 = 14 mL; +0.8 / 13.2 = +6.06 %
    assert a.discrepancy.discrepancy.to("mL").magnitude == pytest.approx(-0.8)
    assert a.discrepancy.actual_delivered.to("mL").magnitude == pytest.approx(14.0)
    assert a.discrepancy.delivery_error_percent == pytest.approx(0.8 / 13.2 * 100)
    # New fill 20 mL at 0.5 mL/d: 3 mL alarm after (20 − 3) / 0.5 = 34 d, empty after 40 d.
    assert a.forecast.low_alarm_nominal == AT + timedelta(days=34)
    assert a.forecast.empty_nominal == AT + timedelta(days=40)
    assert a.forecast.refill_by == AT + timedelta(days=34)
    assert "low-reservoir alarm" in a.forecast.decided_by
    assert a.capacity == Q_("20 mL")
    assert not a.blocked and a.needs_reason == ()


def test_implant_estimate_is_the_expected_volume_when_given(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # The implant says 4.5 mL are left of the 20 mL fill: 20 − 4.5 = 15.5 mL delivered (its own
    # count includes a clinician bolus the schedule knows nothing about).
    p = _refill(catalog, library, last_fill=LAST, withdrawn=Q_("4.5 mL"),
                device_estimate=Q_("4.5 mL"))  # fmt: skip
    a = assess_refill(p, library)
    assert a.expected is not None and a.expected.from_device and a.expected.programmed is None
    assert a.expected.volume == Q_("4.5 mL")
    assert a.expected.delivered.to("mL").magnitude == pytest.approx(15.5)
    assert "implant's own reservoir estimate" in a.expected.basis
    assert a.discrepancy is not None and a.discrepancy.discrepancy.magnitude == pytest.approx(0)


def test_implant_empty_alarm_is_an_interruption(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # The implant raised its empty alarm 10 d ago: 240 h without morphine 5 mg/d.
    p = _refill(catalog, library, last_fill=LAST, withdrawn=Q_("0 mL"),
                device_estimate=Q_("0 mL"), device_empty_at=AT - timedelta(days=10))  # fmt: skip
    f = _only(assess_refill(p, library), Code.RESTART_AFTER_INTERRUPTION)
    assert f.level is Level.SOFT and "240 h" in f.message


def test_the_gate_refill_path_is_the_assessment(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    for kw in (
        {},
        {"last_fill": LAST, "withdrawn": Q_("8 mL")},
        {"last_fill": LAST, "withdrawn": Q_("25 mL"), "alarm_threshold": Q_("50 mL")},
        {"fill": Fill(Q_("40 mL"), AT), "planned_refill": AT + timedelta(days=60)},
    ):
        p = _refill(catalog, library, **kw)
        assert check(p, library).findings == assess_refill(p, library).findings


def test_findings_are_ordered_hard_soft_info(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    # Hard: 25 mL withdrawn from a 20 mL pump; soft: planned at 45 d, after the 34 d alarm;
    # info: observe after the first dose of morphine.
    p = _refill(catalog, library, last_fill=LAST, withdrawn=Q_("25 mL"),
                planned_refill=AT + timedelta(days=45))  # fmt: skip
    levels = [f.level.rank for f in assess_refill(p, library).findings]
    assert levels == sorted(levels) and levels[0] == 0 and 1 in levels and 2 in levels


# --- withdrawn above the capacity --------------------------------------------------------------


def test_withdrawn_capacity_plus_tolerance_is_allowed_just_past_is_hard(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Shipped tolerance 1 mL: 20 mL reservoir + 1 mL = 21 mL is the largest possible reading.
    ok = assess_refill(_refill(catalog, library, last_fill=LAST, withdrawn=Q_("21 mL")), library)
    assert Code.WITHDRAWN_EXCEEDS_RESERVOIR not in _codes(ok)
    past = assess_refill(
        _refill(catalog, library, last_fill=LAST, withdrawn=Q_("21.0001 mL")), library
    )
    f = _only(past, Code.WITHDRAWN_EXCEEDS_RESERVOIR)
    assert f.level is Level.HARD and past.blocked
    assert f.limit == Q_("21 mL") and f.value == Q_("21.0001 mL")
    # The source is the physical fact (the labelled reservoir) and the stated tolerance.
    assert "PL-21604-02" in f.source and "Product choice" in f.source
    assert "syringe" in f.message


@pytest.mark.parametrize("withdrawn", ["25 mL", "15 L", "nan mL"])
def test_impossible_withdrawn_is_hard_and_silences_the_discrepancy(
    library: DrugLibrary, catalog: DeviceCatalog, withdrawn: str
) -> None:
    p = _refill(catalog, library, last_fill=LAST, withdrawn=Q_(withdrawn))
    a = assess_refill(p, library)
    assert _only(a, Code.WITHDRAWN_EXCEEDS_RESERVOIR).level is Level.HARD
    # A discrepancy built on an impossible reading would send the nurse looking for a fault.
    assert Code.DISCREPANCY_ABOVE_THRESHOLD not in _codes(a)
    assert Code.DISCREPANCY_OUTSIDE_ACCURACY not in _codes(a)


def test_withdrawn_checked_even_without_a_last_fill(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    a = assess_refill(_refill(catalog, library, withdrawn=Q_("25 mL")), library)
    assert a.expected is None and a.discrepancy is None
    assert _only(a, Code.WITHDRAWN_EXCEEDS_RESERVOIR).level is Level.HARD


def test_without_a_tolerance_the_capacity_itself_is_the_limit(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    lib = _with_tolerance(library, None)
    ok = assess_refill(_refill(catalog, lib, last_fill=LAST, withdrawn=Q_("20 mL")), lib)
    assert Code.WITHDRAWN_EXCEEDS_RESERVOIR not in _codes(ok)
    past = assess_refill(_refill(catalog, lib, last_fill=LAST, withdrawn=Q_("20.0001 mL")), lib)
    f = _only(past, Code.WITHDRAWN_EXCEEDS_RESERVOIR)
    assert f.limit == Q_("20 mL") and "no measuring tolerance" in f.source


def test_an_institution_sets_its_own_tolerance(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    inst = build_library([("inst", {"drugs": [], "settings": {
        "withdrawn_tolerance": "2 mL", "withdrawn_tolerance_source": "Clinic policy 7",
    }})])  # fmt: skip
    lib = replace(library, settings=replace(
        library.settings, withdrawn_tolerance=inst.settings.withdrawn_tolerance,
        withdrawn_tolerance_source=inst.settings.withdrawn_tolerance_source,
    ))  # fmt: skip
    # 20 mL + 2 mL = 22 mL allowed; 22.0001 mL refused, citing the clinic's policy.
    ok = assess_refill(_refill(catalog, lib, last_fill=LAST, withdrawn=Q_("22 mL")), lib)
    assert Code.WITHDRAWN_EXCEEDS_RESERVOIR not in _codes(ok)
    past = assess_refill(_refill(catalog, lib, last_fill=LAST, withdrawn=Q_("22.0001 mL")), lib)
    assert "Clinic policy 7" in _only(past, Code.WITHDRAWN_EXCEEDS_RESERVOIR).source
    with pytest.raises(LibraryError, match="withdrawn_tolerance_source"):
        build_library([("inst", {"drugs": [], "settings": {"withdrawn_tolerance": "2 mL"}})])


@settings(max_examples=60, deadline=None)
@given(ml=st.floats(min_value=0.0, max_value=100.0))
def test_withdrawn_is_refused_exactly_above_capacity_plus_tolerance(
    library: DrugLibrary, catalog: DeviceCatalog, ml: float
) -> None:
    # Capacity 20 mL + shipped tolerance 1 mL = 21 mL; compare's relative tolerance is 1e-9.
    a = assess_refill(_refill(catalog, library, withdrawn=Q_(ml, "mL")), library)
    assert (Code.WITHDRAWN_EXCEEDS_RESERVOIR in _codes(a)) == (ml > 21.0 * (1 + 1e-9))


# --- the fill ----------------------------------------------------------------------------------


def test_fill_equal_to_capacity_is_allowed_just_past_is_hard(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    ok = assess_refill(_refill(catalog, library, fill=Fill(Q_("20 mL"), AT)), library)
    assert Code.FILL_EXCEEDS_RESERVOIR not in _codes(ok) and ok.forecast is not None
    past = assess_refill(_refill(catalog, library, fill=Fill(Q_("20.0001 mL"), AT)), library)
    assert _only(past, Code.FILL_EXCEEDS_RESERVOIR).level is Level.HARD
    assert past.forecast is None  # no dates from a fill that cannot be


# --- the low-reservoir alarm -------------------------------------------------------------------


def test_alarm_equal_to_capacity_is_hard_just_below_is_allowed(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    at_cap = assess_refill(_refill(catalog, library, alarm_threshold=Q_("20 mL")), library)
    f = _only(at_cap, Code.ALARM_THRESHOLD_AT_OR_ABOVE_CAPACITY)
    assert f.level is Level.HARD and f.limit == Q_("20 mL") and at_cap.forecast is None
    assert "PL-21604-02" in f.source and "every fill" in f.message
    below = assess_refill(_refill(catalog, library, alarm_threshold=Q_("19.999 mL")), library)
    assert Code.ALARM_THRESHOLD_AT_OR_ABOVE_CAPACITY not in _codes(below)
    assert below.forecast is not None


def test_a_50_ml_alarm_on_a_20_ml_pump_is_hard(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    a = assess_refill(_refill(catalog, library, alarm_threshold=Q_("50 mL")), library)
    assert _only(a, Code.ALARM_THRESHOLD_AT_OR_ABOVE_CAPACITY).value == Q_("50 mL")


def test_alarm_at_zero_is_hard_just_above_is_allowed(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    zero = assess_refill(_refill(catalog, library, alarm_threshold=Q_("0 mL")), library)
    f = _only(zero, Code.ALARM_THRESHOLD_NOT_POSITIVE)
    assert f.level is Level.HARD and "never sound" in f.message and "3.0 mL" in f.source
    above = assess_refill(_refill(catalog, library, alarm_threshold=Q_("0.001 mL")), library)
    assert Code.ALARM_THRESHOLD_NOT_POSITIVE not in _codes(above)


@pytest.mark.parametrize("threshold", ["-1 mL", "nan mL"])
def test_negative_or_nan_alarm_is_hard(
    library: DrugLibrary, catalog: DeviceCatalog, threshold: str
) -> None:
    a = assess_refill(_refill(catalog, library, alarm_threshold=Q_(threshold)), library)
    assert a.blocked and a.forecast is None
    assert {Code.ALARM_THRESHOLD_NOT_POSITIVE} <= set(_codes(a))


def test_the_catalog_alarm_is_checked_when_none_is_entered(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Prometra II's catalog alarm is 3 mL: inside (0, 20) mL, so nothing to say.
    a = assess_refill(_refill(catalog, library), library)
    assert a.forecast is not None and a.forecast.alarm_threshold == Q_("3 mL")
    assert not {Code.ALARM_THRESHOLD_AT_OR_ABOVE_CAPACITY, Code.ALARM_THRESHOLD_NOT_POSITIVE} & set(
        _codes(a)
    )


def test_new_codes_are_stable() -> None:
    assert Code.WITHDRAWN_EXCEEDS_RESERVOIR.value == "REFILL-WITHDRAWN-OVER-CAPACITY"
    assert Code.ALARM_THRESHOLD_AT_OR_ABOVE_CAPACITY.value == "ALARM-THRESHOLD-OVER-CAPACITY"
    assert Code.ALARM_THRESHOLD_NOT_POSITIVE.value == "ALARM-THRESHOLD-NOT-POSITIVE"
