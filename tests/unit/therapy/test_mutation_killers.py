"""Tests written to kill mutants that survived tools/mutate.py (docs/testing.md).

Each test pins an edge that the rest of the suite did not reach; the comment names the mutant."""

from dataclasses import FrozenInstanceError, replace
from datetime import timedelta

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.compare import above, above_count, at_or_above, below, equal
from thecal.therapy.entry_error import concentration_slip, dose_slip, slip_findings
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import BolusProposal, Patient, PreviousProgram, RefillProposal
from thecal.therapy.refill_discrepancy import assess_refill, check_refill
from thecal.therapy.reservoir import Fill
from thecal.therapy.safety_gate import check
from thecal.therapy.schedule import Schedule, continuous
from thecal.therapy.titration import titration_findings
from thecal.units import Q_

from .gate_helpers import AT, daily, mix, program

# --- compare: a zero limit ---------------------------------------------------------------------
# With a non-zero limit the relative tolerance hides `>` vs `>=` (the two differ only when the
# value is exactly limit x (1 + 1e-9)); with a zero limit the tolerance is 0 x REL_TOL = 0, so the
# edge is exact: 0 is at a maximum of 0 (allowed), at a minimum of 0 (allowed), and reaches a
# ceiling of 0.


def test_a_zero_maximum_allows_zero() -> None:
    # kills compare.above `>` -> `>=`: 0 > 0 + 1e-9 x 0 is False, 0 >= 0 would flag it
    assert not above(Q_(0, "mg/d"), Q_(0, "mg/d"))
    assert above(Q_(1e-6, "mg/d"), Q_(0, "mg/d"))
    # kills compare.above_count `>` -> `>=`: zero boluses against a maximum of zero is allowed
    assert not above_count(0, 0)
    assert above_count(1, 0)


def test_a_zero_minimum_allows_zero() -> None:
    # kills compare.below `<` -> `<=`: 0 < 0 - 1e-9 x 0 is False
    assert not below(Q_(0, "h"), Q_(0, "h"))
    assert below(Q_(-1e-6, "h"), Q_(0, "h"))


def test_a_zero_ceiling_is_reached_by_zero() -> None:
    # kills compare.at_or_above `>=` -> `>`: 0 >= 0 is True, 0 > 0 is not
    assert at_or_above(Q_(0, "mL"), Q_(0, "mL"))
    assert not at_or_above(Q_(-1e-6, "mL"), Q_(0, "mL"))


def test_zero_equals_zero() -> None:
    # kills compare.equal `<=` -> `<`: |0 - 0| <= 1e-9 x 0
    assert equal(Q_(0, "mL"), Q_(0, "mL"))
    assert not equal(Q_(0, "mL"), Q_(1e-12, "mL"))


# --- titration: edges of the step, the interval and the 7-day window ---------------------------
# Shipped ziconotide limits: step 2.4 mcg/d (hard), 24 h (hard) and 48 h (soft) between
# increases, at most 3 increases a week (soft). Baclofen: +15 % per step for cerebral origin.


def _zic(
    library: DrugLibrary, old: str, new: str, hours_ago: float, increases: tuple[float, ...] = ()
) -> list[Finding]:
    m = mix(library, ("ziconotide", "25 mcg/mL"))
    previous = PreviousProgram(
        m,
        daily(m, "ziconotide", old),
        AT - timedelta(hours=hours_ago),
        earlier_increases=tuple(AT - timedelta(hours=h) for h in increases),
    )
    drug = library.get("ziconotide")
    return titration_findings(drug, Q_(new), Q_(old), AT, previous, {})


def _codes(found: list[Finding]) -> list[tuple[Code, Level]]:
    return sorted(((f.code, f.level) for f in found), key=lambda c: (c[0].value, c[1].value))


def test_an_unchanged_dose_is_no_increase_however_soon(library: DrugLibrary) -> None:
    # kills titration `step <= 0` -> `< 0`: a step of 0 would be checked as an increase 12 h
    # after the last change and raise "too soon"
    assert _zic(library, "2.4 ug/d", "2.4 ug/d", hours_ago=12) == []


def test_a_small_increase_is_an_increase(library: DrugLibrary) -> None:
    # kills titration `step <= 0` -> `step <= 1`: 2.4 -> 3.2 ug/d is a step of 0.8 ug/d, and
    # 12 h < 24 h (hard) and < 48 h (soft)
    assert _codes(_zic(library, "2.4 ug/d", "3.2 ug/d", hours_ago=12)) == [
        (Code.TITRATION_TOO_SOON, Level.HARD),
        (Code.TITRATION_TOO_SOON, Level.SOFT),
    ]


def test_exactly_the_minimum_interval_is_allowed(library: DrugLibrary) -> None:
    # kills titration 3600 s/h -> 3601: 86 400 s / 3600 = 24 h meets the 24 h minimum exactly
    # (a divisor of 3601 gives 23.99 h: "too soon"); 24 h is still below the 48 h recommendation
    assert _codes(_zic(library, "2.4 ug/d", "3.2 ug/d", hours_ago=24)) == [
        (Code.TITRATION_TOO_SOON, Level.SOFT)
    ]
    assert _zic(library, "2.4 ug/d", "3.2 ug/d", hours_ago=48) == []


def test_an_increase_exactly_seven_days_ago_is_outside_the_week(library: DrugLibrary) -> None:
    # The window is (at - 7 d, at]. Earlier increases 50 h, 100 h and 168 h ago: the one at
    # exactly 168 h = 7 d is outside, so this is increase 3 (allowed, the limit is 3).
    # kills `at - WEEK < t` -> `<=` (168 h would count: 4 > 3)
    assert _zic(library, "4.8 ug/d", "7.2 ug/d", 50, increases=(50, 100, 168)) == []
    # kills WEEK 7 -> 8 days: an increase 170 h ago is outside a 7-day week (168 h)
    assert _zic(library, "4.8 ug/d", "7.2 ug/d", 50, increases=(50, 100, 170)) == []


def test_an_increase_at_the_same_instant_counts(library: DrugLibrary) -> None:
    # kills `t <= at` -> `t < at`: increases 0 h, 50 h and 100 h ago + this one = 4 > 3
    found = _zic(library, "4.8 ug/d", "7.2 ug/d", 50, increases=(0, 50, 100))
    assert _codes(found) == [(Code.TITRATION_TOO_FREQUENT, Level.SOFT)]
    assert found[0].value == Q_(4, "")


def test_percent_step_from_zero_is_not_a_percentage(library: DrugLibrary) -> None:
    # kills `old_daily.magnitude > 0` -> `>= 0`: from 0 the percent step is undefined (x/0)
    baclofen = library.get("baclofen")
    ctx = {"spasticity_origin": "cerebral"}
    assert titration_findings(baclofen, Q_(50.0, "ug/d"), Q_(0.0, "ug/d"), AT, None, ctx) == []


def test_percent_step_from_a_dose_below_one_unit(library: DrugLibrary) -> None:
    # kills `old_daily.magnitude > 0` -> `> 1`: 0.5 -> 1 ug/d is +100 % > 15 % (cerebral)
    baclofen = library.get("baclofen")
    ctx = {"spasticity_origin": "cerebral"}
    found = titration_findings(baclofen, Q_(1.0, "ug/d"), Q_(0.5, "ug/d"), AT, None, ctx)
    assert [f.code for f in found] == [Code.TITRATION_PERCENT_ABOVE_LIMIT]
    assert found[0].value.to("percent").magnitude == pytest.approx(100.0)  # (1 - 0.5) / 0.5


# --- refill discrepancy: band edges, a zero band, the threshold edge ---------------------------
SYNCHRO_20 = "SynchroMed II 8637-20"  # over-infusion band only: +14.5 %
PROMETRA_20 = "Prometra II 20 mL"  # ±15 %


def test_a_band_edge_hit_through_binary_rounding_is_not_flagged(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # kills refill_discrepancy _EPS 1e-9 -> 0: 2.5 mL planned, 10 mL expected, 9.6375 withdrawn:
    # delivered 2.5 + 0.3625 = 2.8625 mL = +14.5 % exactly, but the float error is
    # 0.1450000000000003: only the relative tolerance keeps the edge unflagged.
    pump = catalog.pump(SYNCHRO_20)
    result = assess_refill(Q_(10, "mL"), Q_(9.6375, "mL"), Q_(2.5, "mL"), pump, library.settings)
    assert result.delivery_error is not None and result.delivery_error > 0.145  # the rounding
    assert result.findings == ()


def test_exactly_on_the_under_delivery_band_edge_is_not_flagged(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # 10 + 10 - 11.5 = 8.5 mL delivered of 10 = -15 %: on the Prometra band edge, not beyond.
    # kills `-error > under x (1 + eps)` -> `(1 - eps)` and -> `(0 + eps)`
    pump = catalog.pump(PROMETRA_20)
    assert check_refill(Q_(10, "mL"), Q_(11.5, "mL"), Q_(10, "mL"), pump, library.settings) == ()
    # just beyond: 11.6 mL left -> -16 %; the finding's limit is the negative band, -15 %
    # (kills removing the unary minus and the x100 -> x101 / x0 of the limit)
    (f,) = check_refill(Q_(10, "mL"), Q_(11.6, "mL"), Q_(10, "mL"), pump, library.settings)
    assert f.limit == Q_(-15.0, "percent")


def test_a_zero_accuracy_band_allows_an_exact_delivery(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # With a 0 % band the relative tolerance is 0 x (1 + 1e-9) = 0: an exact delivery (error 0)
    # is on the edge, not beyond it. kills `error > over x (1 + eps)` -> `>=` and the same for
    # the under-delivery band.
    pump = replace(catalog.pump(PROMETRA_20), accuracy_over=0.0, accuracy_under=0.0)
    exact = assess_refill(Q_(10, "mL"), Q_(10, "mL"), Q_(10, "mL"), pump, library.settings)
    assert exact.delivery_error == 0.0 and exact.findings == ()
    over = check_refill(Q_(10, "mL"), Q_(9.9, "mL"), Q_(10, "mL"), pump, library.settings)
    assert [f.code for f in over] == [Code.DISCREPANCY_OUTSIDE_ACCURACY]  # +1 % > 0 %


def test_less_than_one_ml_planned_still_gets_the_band_check(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # kills `planned.magnitude > 0` -> `> 1`: 0.5 mL planned, 10 expected, 9.8 withdrawn:
    # delivered 0.5 + 0.2 = 0.7 mL = +40 % > 14.5 % (0.2 mL is under the 2 mL threshold).
    # A library without a minimum expected delivery (the shipped 1 mL would skip the band).
    pump = catalog.pump(SYNCHRO_20)
    settings = replace(library.settings, accuracy_min_delivered=None)
    result = assess_refill(Q_(10, "mL"), Q_(9.8, "mL"), Q_(0.5, "mL"), pump, settings)
    assert result.delivery_error == pytest.approx(0.4)
    assert [f.code for f in result.findings] == [Code.DISCREPANCY_OUTSIDE_ACCURACY]


def test_a_discrepancy_exactly_at_the_threshold_is_not_flagged(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # kills `size <= threshold x (1 + eps)` -> `(1 - eps)`: 12 - 10 = 2 mL = the 2 mL threshold.
    # 20 mL planned: 18 delivered = -10 %, and the SynchroMed has no under-delivery band.
    pump = catalog.pump(SYNCHRO_20)
    assert check_refill(Q_(10, "mL"), Q_(12, "mL"), Q_(20, "mL"), pump, library.settings) == ()


def test_the_refill_result_is_immutable(catalog: DeviceCatalog, library: DrugLibrary) -> None:
    # kills @dataclass(frozen=True) -> frozen=False: a recorded check cannot be edited afterwards
    pump = catalog.pump(SYNCHRO_20)
    result = assess_refill(Q_(10, "mL"), Q_(10, "mL"), Q_(10, "mL"), pump, library.settings)
    with pytest.raises(FrozenInstanceError):
        result.discrepancy = Q_(0, "mL")  # type: ignore[misc]


# --- entry error: the slip a change is named after, the x1000 concentration band ----------------
SLIP_TOL = 0.5  # the shipped slip_tolerance: bands [F / 1.5, F x 1.5]


def test_a_tenfold_dose_is_named_a_decimal_slip() -> None:
    # kills _DOSE_SLIPS 10.0 -> 11.0: x10 exactly is "like x10", not "like x11"
    slip = dose_slip(Q_(30, "mg/d"), Q_(3, "mg/d"), SLIP_TOL)
    assert slip == "x10, like x10 (a decimal point in the wrong place)"


def test_a_drop_to_a_fortieth_is_named_after_the_per_hour_slip() -> None:
    # kills `1 / ratio` -> `2 / ratio` in _nearest: 1/40 on a log scale is nearer 1/24
    # (ln 40 - ln 24 = 0.51) than 1/100 (ln 100 - ln 40 = 0.92); doubled, 80 would be nearer 100
    slip = dose_slip(Q_(1, "mg/d"), Q_(40, "mg/d"), SLIP_TOL) or ""
    assert "like 1/24 (" in slip


def test_the_x1000_concentration_band_edges() -> None:
    # [1000 / 1.5, 1000 x 1.5] = [666.67, 1500]; kills 1000.0 -> 1001.0 ([667.33, 1501.5])
    assert "x1000" in (concentration_slip(Q_(667, "mg/mL"), Q_(1, "mg/mL"), SLIP_TOL) or "")
    assert concentration_slip(Q_(1500, "mg/mL"), Q_(1, "mg/mL"), SLIP_TOL)
    assert concentration_slip(Q_(1501, "mg/mL"), Q_(1, "mg/mL"), SLIP_TOL) is None


def test_a_slip_edge_missed_by_binary_rounding_is_still_flagged() -> None:
    # The dose-slip bound is 10 / 1.5 = 20/3 and the edge is flagged. In floats 3 / 0.45 =
    # 6.666666666666666 < 20/3 = 6.666666666666667 and 0.3015 / 2.01 = 0.15000000000000002 > 0.15:
    # only the 1e-12 guards keep these exact edges flagged (kills either 1e-12 -> 0).
    assert dose_slip(Q_(3, "mg/d"), Q_(0.45, "mg/d"), SLIP_TOL)
    assert dose_slip(Q_(0.3015, "mg/d"), Q_(2.01, "mg/d"), SLIP_TOL)


def test_a_concentration_from_or_to_zero_is_no_ratio() -> None:
    # kills `not (o > 0 and n > 0)` -> `or`: an old concentration of 0 would divide by zero
    assert concentration_slip(Q_(25, "mg/mL"), Q_(0, "mg/mL"), SLIP_TOL) is None
    assert concentration_slip(Q_(0, "mg/mL"), Q_(25, "mg/mL"), SLIP_TOL) is None


def test_the_lower_edge_of_a_concentration_band_is_flagged() -> None:
    # x10 band from 10 / 1.5 = 20/3. 3 / 0.45 = 6.666666666666666 in floats, just under 20/3:
    # flagged thanks to the (1 - 1e-12) guard (kills `-` -> `+` there).
    assert "x10" in (concentration_slip(Q_(3, "mg/mL"), Q_(0.45, "mg/mL"), SLIP_TOL) or "")
    # A ratio equal to the guarded edge itself is inside the band (kills `<=` -> `<`).
    edge = 10.0 / (1 + SLIP_TOL) * (1 - 1e-12)
    assert concentration_slip(Q_(edge, "mg/mL"), Q_(1, "mg/mL"), SLIP_TOL)


def test_a_drug_added_to_the_admixture_is_no_slip(library: DrugLibrary) -> None:
    # kills `name in old_daily and name in new_daily` -> `or`: bupivacaine is new (no old dose),
    # so it has no ratio; morphine 2 -> 2.2 mg/d is x1.1: no slip either.
    old = mix(library, ("morphine", "10 mg/mL"))
    new = mix(library, ("morphine", "10 mg/mL"), ("bupivacaine", "5 mg/mL"))
    found = slip_findings(
        new,
        {"morphine": Q_(2.2, "mg/d"), "bupivacaine": Q_(1.1, "mg/d")},
        old,
        {"morphine": Q_(2, "mg/d")},
        Q_(0.22, "mL/d"),
        Q_(0.2, "mL/d"),
        library.settings,
        interrupted=False,
    )
    assert found == []


def test_the_x100_concentration_band_edges() -> None:
    # [100 / 1.5, 100 x 1.5] = [66.67, 150]; kills 100.0 -> 101.0 ([67.33, 151.5])
    assert "like x100 (" in (concentration_slip(Q_(67, "mg/mL"), Q_(1, "mg/mL"), SLIP_TOL) or "")
    assert concentration_slip(Q_(150, "mg/mL"), Q_(1, "mg/mL"), SLIP_TOL)
    assert concentration_slip(Q_(151, "mg/mL"), Q_(1, "mg/mL"), SLIP_TOL) is None


def test_a_hundredfold_dose_is_named_two_decimal_places() -> None:
    # kills _DOSE_SLIPS 100.0 -> 101.0: x100 exactly is "like x100"
    slip = dose_slip(Q_(100, "mg/d"), Q_(1, "mg/d"), SLIP_TOL)
    assert slip == "x100, like x100 (two decimal places out)"


# --- safety gate: patient-activated one-off boluses, small fills, the labelling message ----------


def _bolus(library: DrugLibrary, catalog: DeviceCatalog, kind: str) -> BolusProposal:
    m = mix(library, ("morphine", "10 mg/mL"))
    pump = catalog.pump("SynchroMed II 8637-20")
    # 0.01 mL x 10 mg/mL = 0.1 mg: a small bolus, so only the opioid-naive rule can fire
    return BolusProposal(m, Q_("0.01 mL"), Q_("10 min"), pump, AT, Patient(opioid_naive=True), kind)


def test_a_clinician_bolus_for_an_opioid_naive_patient_is_not_the_patient_bolus_rule(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # The opioid-naive contraindication is for PATIENT-activated boluses (checked in the program
    # path); a clinician's one-off bolus is the clinician's decision, not this rule.
    clinician = check(_bolus(library, catalog, "clinician"), library)
    assert Code.OPIOID_BOLUS_OPIOID_NAIVE not in [f.code for f in clinician.findings]


def test_a_fill_under_one_ml_is_not_empty(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    # kills `not fill > 0` -> `not fill > 1`: 0.5 mL is a (small) fill, not "nothing filled"
    m = mix(library, ("morphine", "10 mg/mL"))
    prog = program(catalog, m, Schedule(continuous(Q_("0.5 mL/d"))), pump="Prometra II 20 mL")
    result = check(RefillProposal(prog, Fill(Q_("0.5 mL"), AT)), library)
    assert Code.FILL_EMPTY not in [f.code for f in result.findings]


def test_one_unlabelled_drug_is_named_in_the_singular(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # kills `len(unlabelled) == 1` -> `!=` (the message would read "hydromorphone are")
    m = mix(library, ("hydromorphone", "10 mg/mL"))
    result = check(program(catalog, m, daily(m, "hydromorphone", "1 mg/d")), library)
    f = next(f for f in result.findings if f.code is Code.NOT_LABELLED_FOR_PUMP)
    assert "hydromorphone is not labelled for implanted pumps" in f.message


def test_the_rounding_guards_are_no_wider_than_rounding() -> None:
    # The 1e-12 guards absorb binary rounding only: a ratio 1e-10 (relative) outside a band edge
    # is outside the band (kills each 1e-12 -> 1e-9), and a ratio exactly on the guarded edge is
    # inside it (kills `<=` -> `<`). Dose bound 10 / 1.5, inverse 0.15; x10 concentration
    # band [10 / 1.5, 15].
    bound = 10.0 / (1 + SLIP_TOL)
    assert dose_slip(Q_(bound * (1 - 1e-10), "mg/d"), Q_(1.0, "mg/d"), SLIP_TOL) is None
    assert dose_slip(Q_((1 / bound) * (1 + 1e-10), "mg/d"), Q_(1.0, "mg/d"), SLIP_TOL) is None
    assert dose_slip(Q_((1 / bound) * (1 + 1e-12), "mg/d"), Q_(1.0, "mg/d"), SLIP_TOL)
    assert concentration_slip(Q_(bound * (1 - 1e-10), "mg/mL"), Q_(1.0, "mg/mL"), SLIP_TOL) is None
    assert concentration_slip(Q_(15 * (1 + 1e-10), "mg/mL"), Q_(1.0, "mg/mL"), SLIP_TOL) is None


def test_concentration_band_upper_edge_and_small_concentrations() -> None:
    # 0.45 / 0.03 = 15.000000000000002 in floats, mathematically the x10 band's top edge 15:
    # flagged thanks to the (1 + 1e-12) guard (kills that 1e-12 -> 0)
    assert concentration_slip(Q_(0.45, "mg/mL"), Q_(0.03, "mg/mL"), SLIP_TOL)
    # a ratio exactly on the guarded top edge is inside the band (kills `<=` -> `<`)
    edge = 10 * (1 + SLIP_TOL) * (1 + 1e-12)
    assert concentration_slip(Q_(edge, "mg/mL"), Q_(1.0, "mg/mL"), SLIP_TOL)
    # kills `n > 0` -> `n > 1`: 5 -> 0.5 mg/mL is 1/10, whatever the unit's size
    assert "1/10" in (concentration_slip(Q_(0.5, "mg/mL"), Q_(5, "mg/mL"), SLIP_TOL) or "")


def test_just_beyond_the_band_by_more_than_rounding_is_flagged(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # 10 + 10 - 8.5499998 = 11.4500002 mL = +14.500002 %: beyond the 14.5 % band by 1.4e-7
    # (relative), far above the 1e-9 rounding tolerance (kills _EPS 1e-9 -> 1e-6)
    pump = catalog.pump(SYNCHRO_20)
    found = check_refill(Q_(10, "mL"), Q_(8.5499998, "mL"), Q_(10, "mL"), pump, library.settings)
    assert [f.code for f in found] == [Code.DISCREPANCY_OUTSIDE_ACCURACY]


def test_a_zero_pocket_fill_threshold_allows_a_fully_confirmed_fill(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # kills `unaccounted > threshold x (1 + eps)` -> `>=`: with a 0 mL threshold, 20 mL injected
    # and 20 mL confirmed leaves 0 mL unaccounted: on the edge, not beyond; 0.1 mL is beyond.
    pump = replace(catalog.pump(SYNCHRO_20), pocket_fill_threshold=Q_(0, "mL"))
    args = (Q_(10, "mL"), Q_(10, "mL"), Q_(10, "mL"), pump, library.settings)
    assert check_refill(*args, filled=Q_(20, "mL"), confirmed_after_fill=Q_(20, "mL")) == ()
    found = check_refill(*args, filled=Q_(20, "mL"), confirmed_after_fill=Q_(19.9, "mL"))
    assert [f.code for f in found] == [Code.POSSIBLE_POCKET_FILL]


def test_a_tenfold_rate_cut_without_an_interruption_is_a_slip(library: DrugLibrary) -> None:
    # kills `interrupted and new_volume < old_volume` -> `or`: only an interruption excuses a
    # large decrease. Same morphine dose, pump rate 0.2 -> 0.02 mL/d = 1/10.
    m = mix(library, ("morphine", "10 mg/mL"))
    dose = {"morphine": Q_(2, "mg/d")}
    found = slip_findings(
        m, dose, m, dose, Q_(0.02, "mL/d"), Q_(0.2, "mL/d"), library.settings, interrupted=False
    )
    assert [(f.code, f.level) for f in found] == [(Code.RATE_LOOKS_LIKE_SLIP, Level.HARD)]


def test_a_zero_discrepancy_threshold_allows_an_exact_residual(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # kills `size <= threshold x (1 + eps)` -> `<`: with a 0 mL threshold an exact residual
    # (0 mL discrepancy) is on the edge, not above it
    settings = replace(library.settings, discrepancy_threshold=Q_(0, "mL"))
    pump = catalog.pump(SYNCHRO_20)
    assert check_refill(Q_(10, "mL"), Q_(10, "mL"), Q_(10, "mL"), pump, settings) == ()


def test_a_residual_under_one_ml_above_expected_reads_as_under_delivery(
    catalog: DeviceCatalog, library: DrugLibrary
) -> None:
    # kills `discrepancy > 0` -> `> 1`: threshold 0.5 mL, 10.8 mL withdrawn of 10 expected:
    # +0.8 mL left over is under-delivery (the SynchroMed has no under-delivery band:
    # -8 % raises nothing else)
    settings = replace(library.settings, discrepancy_threshold=Q_(0.5, "mL"))
    pump = catalog.pump(SYNCHRO_20)
    (f,) = check_refill(Q_(10, "mL"), Q_(10.8, "mL"), Q_(10, "mL"), pump, settings)
    assert f.code is Code.DISCREPANCY_ABOVE_THRESHOLD
    assert "more than expected was left" in f.message and "under-delivery" in f.message


def test_a_decrease_needs_no_observation_after_increase(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # kills `drug.monitoring and (new drug or increase)` -> `or`: morphine 8 -> 6 mg/d is a
    # decrease, so no "observe after an increase"; 6 -> 8 mg/d is one
    m = mix(library, ("morphine", "10 mg/mL"))

    def observe(old: str, new: str) -> bool:
        prev = PreviousProgram(m, daily(m, "morphine", old), AT - timedelta(days=30))
        result = check(program(catalog, m, daily(m, "morphine", new), previous=prev), library)
        return Code.OBSERVE_AFTER_INCREASE in [f.code for f in result.findings]

    assert not observe("8 mg/d", "6 mg/d")
    assert observe("6 mg/d", "8 mg/d")


def test_a_gate_result_is_immutable(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    # kills GateResult @dataclass(frozen=True) -> frozen=False: findings cannot be edited away
    m = mix(library, ("morphine", "10 mg/mL"))
    result = check(program(catalog, m, daily(m, "morphine", "1 mg/d")), library)
    with pytest.raises(FrozenInstanceError):
        result.findings = ()  # type: ignore[misc]


def test_one_drug_is_no_mixture_and_an_unlabelled_bolus_is_flagged(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # kills `len(ingredients) > 1` -> `>= 1` / `> 0`: one drug is not "a mixture"
    m = mix(library, ("hydromorphone", "10 mg/mL"))
    result = check(program(catalog, m, daily(m, "hydromorphone", "1 mg/d")), library)
    f = next(f for f in result.findings if f.code is Code.NOT_LABELLED_FOR_PUMP)
    assert "mixture" not in f.message
    # kills removing `out += _labelling(...)` from the bolus path: a hydromorphone bolus in an
    # implanted pump is off-label too
    pump = catalog.pump("SynchroMed II 8637-20")
    bolus = BolusProposal(m, Q_("0.01 mL"), Q_("10 min"), pump, AT, Patient(opioid_naive=False))
    assert Code.NOT_LABELLED_FOR_PUMP in [f.code for f in check(bolus, library).findings]


def test_a_small_bolus_does_not_exceed_the_reservoir(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # kills `reservoir is not None and above(volume, reservoir)` -> `or`: 0.01 mL < 20 mL
    result = check(_bolus(library, catalog, "clinician"), library)
    assert Code.FILL_EXCEEDS_RESERVOIR not in [f.code for f in result.findings]


def test_a_last_fill_without_a_withdrawn_volume_skips_the_discrepancy(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # kills `last_fill is not None and withdrawn is not None` -> `or`: the discrepancy needs
    # both; with only the last fill the check is skipped instead of failing on a missing volume
    m = mix(library, ("morphine", "10 mg/mL"))
    prog = program(catalog, m, Schedule(continuous(Q_("0.5 mL/d"))), pump="Prometra II 20 mL")
    last = Fill(Q_("20 mL"), AT - timedelta(days=20))
    result = check(RefillProposal(prog, Fill(Q_("20 mL"), AT), last_fill=last), library)
    discrepancy = {Code.DISCREPANCY_OUTSIDE_ACCURACY, Code.DISCREPANCY_ABOVE_THRESHOLD}
    assert not discrepancy & {f.code for f in result.findings}


def test_an_infinite_ratio_is_a_slip_and_the_exact_guarded_edge_is_flagged() -> None:
    # kills dose_slip's `return "a value that is not a number"` -> `return None`: an infinite
    # new dose (finite old) gives an infinite ratio, which must never pass as "no slip"
    assert dose_slip(Q_(float("inf"), "mg/d"), Q_(5, "mg/d"), SLIP_TOL) is not None
    # kills `ratio >= bound x (1 - 1e-12)` -> `>`: a ratio exactly on the guarded edge
    bound = 10.0 / (1.0 + SLIP_TOL)
    assert dose_slip(Q_(bound * (1 - 1e-12), "mg/d"), Q_(1.0, "mg/d"), SLIP_TOL)
