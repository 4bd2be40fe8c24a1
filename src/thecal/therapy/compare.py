"""One way to compare a value with a limit, with stated edge semantics.

Every limit in Thecal is compared here, so that "is 20 mg/d above a 20 mg/d limit?" has one
answer everywhere:

- a **maximum** is exceeded only when the value is *strictly above* it: the limit itself is
  allowed (20 mg/d passes a 20 mg/d maximum, 20.000001 mg/d does not);
- a **minimum** is broken only when the value is *strictly below* it: the limit itself is
  allowed (24 h passes a 24 h minimum interval);
- an **exclusive ceiling** (a value must stay below it, as an alarm threshold must stay below
  the reservoir's capacity) is broken *at or above* it.

Values equal to the limit within a relative ``REL_TOL`` (1e-9, far below any device step) count
as equal, so that a limit written as ``0.8 mcg/h`` and a value computed as ``19.2 mcg/d`` meet.
A value or limit that is not a finite number counts as breaking the limit: no NaN or infinity
walks past a check because every comparison with NaN is false.
"""

import math

import pint

REL_TOL = 1e-9


def _magnitudes(value: pint.Quantity, limit: pint.Quantity) -> tuple[float, float]:
    """Both magnitudes in the limit's unit (a dimension mismatch raises pint's error)."""
    return float(value.to(limit.units).magnitude), float(limit.magnitude)


def _finite(*xs: float) -> bool:
    return all(math.isfinite(x) for x in xs)


def above(value: pint.Quantity, maximum: pint.Quantity) -> bool:
    """True when ``value`` is strictly above ``maximum`` (the maximum itself is allowed)."""
    v, m = _magnitudes(value, maximum)
    if not _finite(v, m):
        return True
    return v > m + REL_TOL * max(abs(m), abs(v))


def below(value: pint.Quantity, minimum: pint.Quantity) -> bool:
    """True when ``value`` is strictly below ``minimum`` (the minimum itself is allowed)."""
    v, m = _magnitudes(value, minimum)
    if not _finite(v, m):
        return True
    return v < m - REL_TOL * max(abs(m), abs(v))


def at_or_above(value: pint.Quantity, ceiling: pint.Quantity) -> bool:
    """True when ``value`` reaches ``ceiling`` (equal within REL_TOL counts as reaching it)."""
    v, c = _magnitudes(value, ceiling)
    if not _finite(v, c):
        return True
    return v >= c - REL_TOL * max(abs(c), abs(v))


def above_count(count: float, maximum: float) -> bool:
    """``above`` for plain numbers: counts (boluses per day, increases per week) and
    fractions (an accuracy band of 0.145)."""
    if not _finite(float(count), float(maximum)):
        return True
    return float(count) > float(maximum) + REL_TOL * max(abs(maximum), abs(count))


def equal(a: pint.Quantity, b: pint.Quantity) -> bool:
    """True when ``a`` and ``b`` are the same quantity within REL_TOL (NaN equals nothing)."""
    x, y = _magnitudes(a, b)
    if not _finite(x, y):
        return False
    return abs(x - y) <= REL_TOL * max(abs(x), abs(y))
