"""The entry-error guard: slips that look like x10, x24, x100, x1000 (or their inverses) are hard;
entry-error ceilings are hard; a drug without limits is never 'no findings'."""

from datetime import timedelta

import pytest

from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.entry_error import concentration_slip, dose_slip
from thecal.therapy.findings import Code, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import Interruption, Patient, PreviousProgram
from thecal.therapy.safety_gate import check
from thecal.units import Q_

from .gate_helpers import AT, codes, daily, finding, mix, program

TOL = 0.5  # the shipped slip_tolerance (50 %)


def _change(
    library: DrugLibrary,
    catalog: DeviceCatalog,
    drug: str,
    conc: str,
    old: str,
    new: str,
    new_conc: str | None = None,
    **kw: object,
):  # type: ignore[no-untyped-def]
    m_old = mix(library, (drug, conc))
    m_new = mix(library, (drug, new_conc or conc))
    prev = PreviousProgram(m_old, daily(m_old, drug, old), AT - timedelta(days=30))
    return check(program(catalog, m_new, daily(m_new, drug, new), previous=prev, **kw), library)


def test_baclofen_per_hour_for_per_day_is_hard_and_named(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # 300 mcg/h x 24 h/d = 7200 mcg/d: 24 times the previous 300 mcg/d.
    result = _change(library, catalog, "baclofen", "2000 mcg/mL", "300 mcg/d", "7200 mcg/d")
    f = finding(result, Code.DOSE_LOOKS_LIKE_SLIP)
    assert f.level is Level.HARD and result.blocked
    assert "x24" in f.message and "per-hour" in f.message
    assert Code.RATE_LOOKS_LIKE_SLIP.value in codes(result)  # same concentration: rate x24 too


def test_a_tenfold_morphine_increase_is_hard(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    result = _change(library, catalog, "morphine", "10 mg/mL", "2.5 mg/d", "25 mg/d")
    assert "x10" in finding(result, Code.DOSE_LOOKS_LIKE_SLIP).message


def test_an_ordinary_titration_is_no_slip(library: DrugLibrary, catalog: DeviceCatalog) -> None:
    result = _change(library, catalog, "morphine", "10 mg/mL", "5 mg/d", "6 mg/d")
    assert Code.DOSE_LOOKS_LIKE_SLIP.value not in codes(result)
    assert Code.RATE_LOOKS_LIKE_SLIP.value not in codes(result)


def test_dose_slip_edges() -> None:
    # Bound = 10 / (1 + 0.5) = 6.667: 3 mg/d -> 20 mg/d is x6.667 (flagged, the edge itself),
    # 3 -> 19.99 is x6.663 (not flagged); downwards 20 -> 3 is 1/6.667 (flagged).
    assert dose_slip(Q_(20, "mg/d"), Q_(3, "mg/d"), TOL)
    assert dose_slip(Q_(19.99, "mg/d"), Q_(3, "mg/d"), TOL) is None
    assert dose_slip(Q_(3, "mg/d"), Q_(20, "mg/d"), TOL)
    assert dose_slip(Q_(3.01, "mg/d"), Q_(20, "mg/d"), TOL) is None
    # mcg for mg: 1 mg/d -> 1000 mg/d names x1000; starts and stops are not ratios.
    assert "x1000" in (dose_slip(Q_(1000, "mg/d"), Q_(1, "mg/d"), TOL) or "")
    assert dose_slip(Q_(0, "mg/d"), Q_(5, "mg/d"), TOL) is None
    assert dose_slip(Q_(5, "mg/d"), Q_(0, "mg/d"), TOL) is None
    assert dose_slip(Q_(float("nan"), "mg/d"), Q_(5, "mg/d"), TOL) is not None


def test_concentration_slip_bands() -> None:
    # x10 band: [10 / 1.5, 10 x 1.5] = [6.667, 15]; x100: [66.7, 150]; x1000: [667, 1500].
    assert concentration_slip(Q_(2500, "mg/mL"), Q_(25, "mg/mL"), TOL)  # x100
    assert concentration_slip(Q_(2.5, "mg/mL"), Q_(25, "mg/mL"), TOL)  # 1/10
    assert concentration_slip(Q_(25, "mg/mL"), Q_(10, "mg/mL"), TOL) is None  # x2.5
    assert concentration_slip(Q_(15, "mg/mL"), Q_(1, "mg/mL"), TOL)  # x15: top edge, flagged
    assert concentration_slip(Q_(15.1, "mg/mL"), Q_(1, "mg/mL"), TOL) is None
    assert concentration_slip(Q_(40, "mg/mL"), Q_(1, "mg/mL"), TOL) is None  # between bands


def test_a_tenth_of_the_concentration_is_hard_unless_the_library_lists_it(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # Ziconotide 100 -> 10 mcg/mL: 1/10, not a listed strength -> hard.
    result = _change(
        library, catalog, "ziconotide", "100 mcg/mL", "2 mcg/d", "2 mcg/d", new_conc="10 mcg/mL"
    )
    assert finding(result, Code.CONCENTRATION_LOOKS_LIKE_SLIP).level is Level.HARD
    # Baclofen 500 -> 50 mcg/mL: 1/10 but 50 mcg/mL is a marketed strength -> no slip.
    result = _change(
        library, catalog, "baclofen", "500 mcg/mL", "300 mcg/d", "300 mcg/d", new_conc="50 mcg/mL"
    )
    assert Code.CONCENTRATION_LOOKS_LIKE_SLIP.value not in codes(result)


def test_a_large_cut_after_an_interruption_is_the_restart_rules_business(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    gap = Interruption(AT - timedelta(days=5), AT, "reservoir empty")
    result = _change(
        library, catalog, "morphine", "10 mg/mL", "20 mg/d", "1 mg/d", interruption=gap
    )
    assert Code.DOSE_LOOKS_LIKE_SLIP.value not in codes(result)
    result = _change(library, catalog, "morphine", "10 mg/mL", "20 mg/d", "1 mg/d")
    assert "1/20" in finding(result, Code.DOSE_LOOKS_LIKE_SLIP).message


@pytest.mark.parametrize(
    ("pump", "dose"),
    [("SynchroMed II 8637-20", "500 mg/d"), ("Curlin 6000 CMS", "12000 mg/d")],
)
def test_gross_morphine_doses_hit_the_entry_error_ceiling(
    library: DrugLibrary, catalog: DeviceCatalog, pump: str, dose: str
) -> None:
    m = mix(library, ("morphine", "25 mg/mL"))
    f = finding(
        check(program(catalog, m, daily(m, "morphine", dose), pump=pump), library),
        Code.DAILY_DOSE_ENTRY_ERROR,
    )
    assert f.level is Level.HARD and f.limit == Q_("200 mg/d")


def test_hydromorphone_100_mg_a_day_is_never_no_findings(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("hydromorphone", "10 mg/mL"))
    result = check(program(catalog, m, daily(m, "hydromorphone", "100 mg/d")), library)
    f = finding(result, Code.DAILY_DOSE_ABOVE_LIMIT)
    assert f.level is Level.SOFT and f.limit == Q_("25 mg/d")


def test_a_drug_without_daily_limits_raises_a_visible_soft_finding(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    m = mix(library, ("fentanyl", "50 mcg/mL"))
    result = check(program(catalog, m, daily(m, "fentanyl", "100 mcg/d")), library)
    f = finding(result, Code.NO_DOSE_LIMITS)
    assert f.level is Level.SOFT and "fentanyl" in f.message
    m = mix(library, ("morphine", "10 mg/mL"))
    result = check(program(catalog, m, daily(m, "morphine", "5 mg/d")), library)
    assert Code.NO_DOSE_LIMITS.value not in codes(result)


def test_opioid_titration_steps_are_limited_per_step(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # 5 -> 7 mg/d is +40 %: above 30 % (non-cancer) but within 50 % (cancer pain).
    non_cancer = Patient(opioid_naive=False, cancer_pain=False)
    result = _change(
        library, catalog, "morphine", "10 mg/mL", "5 mg/d", "7 mg/d", patient=non_cancer
    )
    assert finding(result, Code.TITRATION_PERCENT_ABOVE_LIMIT).limit == Q_(30, "percent")
    cancer = Patient(opioid_naive=False, cancer_pain=True)
    result = _change(library, catalog, "morphine", "10 mg/mL", "5 mg/d", "7 mg/d", patient=cancer)
    assert Code.TITRATION_PERCENT_ABOVE_LIMIT.value not in codes(result)
