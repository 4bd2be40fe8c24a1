"""Tests written to kill mutants that survived tools/mutate.py (docs/testing.md).

Each test pins an edge that the rest of the suite did not reach; the comment names the mutant."""

from datetime import timedelta

import pytest

from thecal.therapy.compare import above, above_count, at_or_above, below, equal
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.library import DrugLibrary
from thecal.therapy.proposal import PreviousProgram
from thecal.therapy.titration import titration_findings
from thecal.units import Q_

from .gate_helpers import AT, daily, mix

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
