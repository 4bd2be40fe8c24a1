"""Low-reservoir forecast for a whole fleet of pumps at once: numpy, closed form, no stepping.

For each pump: when (hours after the fill) will the reservoir reach its low-reservoir alarm
threshold? It is the same worst-case model as the scalar
:meth:`thecal.therapy.delivery.DeliveryModel.time_to_deliver`, restricted to basal programs that
repeat every day (no weekday differences, no periodic or single boluses):

* the basal program is a day-periodic step function of the time of day; its cumulative curve
  ``C(t)`` (mL from midnight to ``t`` hours) is piecewise linear and ``B = C(24 h)`` is the basal
  day volume;
* every allowed patient bolus is taken: the ``n`` boluses of ``V`` mL a 24 h period allows leave at
  the START of each 24 h period counted from the fill, so after ``τ > 0`` hours
  ``delivered(τ) = basal(τ) + n·V·ceil(τ / 24 h)``;
* the volume that must leave is ``W = fill − alarm threshold``.

Closed form (per pump, all vectorised):

1. ``D = B + n·V`` leaves every full 24 h, so ``delivered(24 h·k) = k·D``. The period in which
   ``W`` is reached is ``k = ceil(W / D) − 1`` (``k·D < W ≤ (k+1)·D``).
2. Inside period ``k`` the boluses leave first, then the basal curve must supply
   ``R = W − k·D − n·V`` (at most ``B``). ``R ≤ 0``: reached at the period start, ``τ = 24 h·k``.
3. Otherwise invert the basal curve from the fill's time of day ``f``: the first time of day
   ``t`` with ``C(t) = C(f) + R``, wrapping past midnight (``C(f) + R > B`` → look for
   ``C(f) + R − B`` on the next day, ``+24 h``). ``τ = 24 h·k + (t − f)``.

Special cases: ``W ≤ 0`` (threshold at or above the fill) → 0 h; ``D = 0`` (zero total rate and no
patient boluses) → ``inf`` (never reached). Unlike the scalar model there is no horizon: callers
compare the result with theirs.

Work is done in chunks of pumps so memory stays bounded (a chunk holds a few ``chunk × S``
float arrays) whatever the fleet size. Inputs cross the boundary as pint quantities wrapping
numpy arrays; inside, times are hours and volumes mL (plain float64).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pint

from thecal.therapy.schedule import MAX_STEPS_PER_DAY, PatientBolus, Schedule
from thecal.units import Q_, Dimension, InputError, check_dimension

DAY_H = 24.0
DEFAULT_CHUNK = (
    4096  # pumps per chunk: 0.8 MB per chunk×24 float array stays in cache (fastest here)
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FleetSchedules:
    """Day-periodic basal programs of ``N`` pumps, padded to ``S ≤ 24`` steps.

    ``step_start``: N×S time of day at which each step starts (a time quantity; the first step of
    every pump starts at 0 h, starts strictly increase, all are < 24 h); entries at or past a
    pump's ``step_count`` are padding and ignored. ``rate``: N×S flow rates (volume/time, ≥ 0).
    ``step_count``: N integers in 1…S.
    """

    step_start: pint.Quantity
    rate: pint.Quantity
    step_count: IntArray

    @property
    def size(self) -> int:
        return int(self.step_count.shape[0])


@dataclass(frozen=True)
class FleetForecast:
    """Hours from the fill until each pump reaches its alarm threshold (quantities in h, shape N).

    ``worst_case``: every allowed patient bolus taken (the date to plan on). ``nominal``: basal
    only, no patient boluses (``None`` unless asked for). ``inf`` means never reached.
    """

    worst_case: pint.Quantity
    nominal: pint.Quantity | None


def fleet_schedules(schedules: Sequence[Schedule]) -> FleetSchedules:
    """Padded step arrays (start in h, rate in mL/h) for :func:`forecast_fleet`.

    Only day-periodic basal programs are accepted: a program that differs by weekday, or any
    periodic or single bolus, raises :class:`InputError` (a ``ValueError``) naming the schedule —
    the vectorised model would silently ignore them and forecast too late a date.
    """
    n = len(schedules)
    if n == 0:
        raise InputError("schedules", "is empty", "at least one schedule")
    for i, schedule in enumerate(schedules):
        if schedule.basal.varies_by_weekday:
            raise InputError(
                f"schedules[{i}].basal", "differs by weekday", "the same day program every day"
            )
        if schedule.periodic or schedule.single:
            raise InputError(
                f"schedules[{i}]",
                "has periodic or single boluses",
                "a basal program only (use DeliveryModel for boluses)",
            )
    width = max(len(s.basal.days[0].steps) for s in schedules)
    # Padding: a start of 24 h and a rate of 0 — a zero-length step, also masked by step_count.
    starts = np.full((n, width), DAY_H)
    rates = np.zeros((n, width))
    counts = np.zeros(n, dtype=np.int64)
    for i, schedule in enumerate(schedules):
        steps = schedule.basal.days[0].steps
        counts[i] = len(steps)
        for j, step in enumerate(steps):
            t = step.start
            starts[i, j] = t.hour + t.minute / 60.0 + t.second / 3600.0
            rates[i, j] = float(step.rate.to("mL/h").magnitude)
    return FleetSchedules(Q_(starts, "h"), Q_(rates, "mL/h"), counts)


def fleet_patient_boluses(
    patients: Sequence[PatientBolus | None],
) -> tuple[pint.Quantity, IntArray]:
    """Per-pump patient-bolus volume (mL) and worst-case count per 24 h (0 = none), from each
    pump's :class:`PatientBolus` (its ``max_count_per_day``: daily maximum and lockout)."""
    volumes = np.array(
        [float(p.volume.to("mL").magnitude) if p is not None else 0.0 for p in patients]
    )
    counts = np.array([p.max_count_per_day if p is not None else 0 for p in patients], np.int64)
    return Q_(volumes, "mL"), counts


def forecast_fleet(
    schedules: FleetSchedules,
    fill_time_of_day: pint.Quantity,
    fill_volume: pint.Quantity,
    alarm_threshold: pint.Quantity,
    bolus_volume: pint.Quantity,
    bolus_max_per_day: npt.ArrayLike,
    *,
    nominal: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
) -> FleetForecast:
    """Hours from the fill until each pump's reservoir reaches its alarm threshold.

    Per pump (each argument a scalar or an array of shape N, broadcast): ``fill_time_of_day``
    (time since midnight, 0 ≤ f < 24 h), ``fill_volume`` (mL), ``alarm_threshold`` (mL),
    ``bolus_volume`` (patient bolus, mL) and ``bolus_max_per_day`` (most patient boluses in any
    24 h, an integer ≥ 0; 0 = no patient bolus). The worst case takes every allowed bolus at the
    start of each 24 h from the fill (see the module docstring); with ``nominal=True`` the
    no-bolus forecast is returned too. Result quantities are in h; ``inf`` = never reached.

    Raises :class:`InputError` naming the first bad pump.
    """
    counts = np.asarray(schedules.step_count)
    if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer):
        raise InputError("fleet.step_count", "is not a 1-D integer array", "one count per pump")
    n = int(counts.shape[0])
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    check_dimension(schedules.step_start, "fleet.step_start", Dimension.TIME)
    check_dimension(schedules.rate, "fleet.rate", Dimension.FLOW_RATE)
    start_mag, start_k = _magnitude(schedules.step_start, "h")
    rate_mag, rate_k = _magnitude(schedules.rate, "mL/h")
    if start_mag.ndim != 2:
        raise InputError("fleet.step_start", f"has shape {start_mag.shape}", "(pumps, steps)")
    s = int(start_mag.shape[1])
    if start_mag.shape != (n, s) or rate_mag.shape != (n, s):
        raise InputError("fleet.rate", "shape does not match step_start", f"({n}, {s})")
    if not 1 <= s <= MAX_STEPS_PER_DAY:
        raise InputError("fleet.step_start", f"has {s} steps a day", f"1 to {MAX_STEPS_PER_DAY}")

    fill_tod = _per_pump(fill_time_of_day, "fill_time_of_day", Dimension.TIME, "h", n)
    fill = _per_pump(fill_volume, "fill_volume", Dimension.VOLUME, "mL", n)
    alarm = _per_pump(alarm_threshold, "alarm_threshold", Dimension.VOLUME, "mL", n)
    bolus = _per_pump(bolus_volume, "bolus_volume", Dimension.VOLUME, "mL", n)
    try:
        bolus_n = np.broadcast_to(np.asarray(bolus_max_per_day), (n,))
    except ValueError as exc:
        raise InputError("bolus_max_per_day", "has the wrong shape", f"({n},)") from exc
    if not np.issubdtype(bolus_n.dtype, np.integer):
        raise InputError("bolus_max_per_day", "is not a whole number", "integers >= 0")

    worst = np.empty(n)
    plain = np.empty(n) if nominal else None
    for lo in range(0, n, chunk_size):
        hi = min(lo + chunk_size, n)
        h = start_mag[lo:hi] * start_k if start_k != 1.0 else start_mag[lo:hi]
        r = rate_mag[lo:hi] * rate_k if rate_k != 1.0 else rate_mag[lo:hi]
        f = fill_tod[0][lo:hi] * fill_tod[1]
        fill_ml = fill[0][lo:hi] * fill[1]
        alarm_ml = alarm[0][lo:hi] * alarm[1]
        b_vol = bolus[0][lo:hi] * bolus[1]
        b_n = bolus_n[lo:hi]
        _validate_chunk(lo, h, r, counts[lo:hi], f, fill_ml, alarm_ml, b_vol, b_n)
        w = fill_ml - alarm_ml  # volume that must leave before the alarm (mL)
        curve = _DayCurve(h, r, counts[lo:hi], f)
        worst[lo:hi] = curve.hours_to_deliver(w, b_vol * b_n)
        if plain is not None:
            plain[lo:hi] = curve.hours_to_deliver(w, np.zeros(hi - lo))
    return FleetForecast(Q_(worst, "h"), Q_(plain, "h") if plain is not None else None)


def refill_by(
    alarm_hours: pint.Quantity, margin: pint.Quantity, stability: pint.Quantity
) -> pint.Quantity:
    """Latest refill time per pump, in hours from the fill:
    ``min(alarm − margin, stability)``.

    ``alarm_hours``: the forecast (time quantity, shape N, may be ``inf``); ``margin``: how long
    before the alarm the refill must happen; ``stability``: how long the admixture stays usable
    in the pump. Both are required inputs (library settings / drug data), scalar or shape N. A
    negative result means the refill is already due at the fill.
    """
    check_dimension(alarm_hours, "alarm_hours", Dimension.TIME)
    check_dimension(margin, "margin", Dimension.TIME)
    check_dimension(stability, "stability", Dimension.TIME)
    alarm = np.asarray(alarm_hours.m_as("h"), dtype=np.float64)
    by = np.minimum(alarm - np.asarray(margin.m_as("h")), np.asarray(stability.m_as("h")))
    return Q_(by, "h")


# --- internals ------------------------------------------------------------------------------


def _magnitude(q: pint.Quantity, unit: str) -> tuple[FloatArray, float]:
    """The raw magnitude and the factor to ``unit`` — applied per chunk, so a fleet given in
    other units is never copied whole."""
    return np.asarray(q.magnitude, dtype=np.float64), float(Q_(1.0, q.units).m_as(unit))


def _per_pump(
    q: Any, field: str, dimension: Dimension, unit: str, n: int
) -> tuple[FloatArray, float]:
    if not isinstance(q, pint.Quantity):
        raise InputError(field, f"got {type(q).__name__} without a unit", dimension.example)
    check_dimension(q, field, dimension)
    mag, k = _magnitude(q, unit)
    try:
        return np.broadcast_to(mag, (n,)), k
    except ValueError as exc:
        raise InputError(field, f"has shape {mag.shape}", f"a scalar or shape ({n},)") from exc


def _first_bad(offset: int, bad: npt.NDArray[np.bool_]) -> int:
    return offset + int(np.flatnonzero(bad.reshape(bad.shape[0], -1).any(axis=1))[0])


def _validate_chunk(
    offset: int,
    h: FloatArray,
    r: FloatArray,
    counts: IntArray,
    f: FloatArray,
    fill_ml: FloatArray,
    alarm_ml: FloatArray,
    b_vol: FloatArray,
    b_n: IntArray,
) -> None:
    """Refuse inputs the closed form would turn into a wrong date (not clamp them)."""
    s = h.shape[1]
    if ((counts < 1) | (counts > s)).any():
        i = _first_bad(offset, (counts < 1) | (counts > s))
        raise InputError(f"fleet.step_count[{i}]", "is out of range", f"1 to {s}")
    valid = np.arange(s) < counts[:, None]
    if (h[:, 0] != 0.0).any():
        raise InputError(
            f"fleet.step_start[{_first_bad(offset, h[:, 0] != 0.0)}, 0]", "is not 00:00", "0 h"
        )
    rising = h[:, 1:] > h[:, :-1]
    bad = valid[:, 1:] & ~(rising & (h[:, 1:] < DAY_H))
    if bad.any():
        raise InputError(
            f"fleet.step_start[{_first_bad(offset, bad)}]",
            "starts do not strictly increase within the day",
            "increasing times of day in [0 h, 24 h)",
        )
    bad = valid & ~((r >= 0.0) & np.isfinite(r))
    if bad.any():
        raise InputError(
            f"fleet.rate[{_first_bad(offset, bad)}]", "is negative or not finite", "rates >= 0"
        )
    bad = ~((f >= 0.0) & (f < DAY_H))
    if bad.any():
        i = _first_bad(offset, bad)
        raise InputError(f"fill_time_of_day[{i}]", "is not a time of day", "0 h <= f < 24 h")
    for name, values in (
        ("fill_volume", fill_ml),
        ("alarm_threshold", alarm_ml),
        ("bolus_volume", b_vol),
    ):
        bad = ~((values >= 0.0) & np.isfinite(values))
        if bad.any():
            i = _first_bad(offset, bad)
            raise InputError(f"{name}[{i}]", "is negative or not finite", "a volume >= 0 mL")
    if (b_n < 0).any():
        i = _first_bad(offset, b_n < 0)
        raise InputError(f"bolus_max_per_day[{i}]", "is negative", "a whole number >= 0")


def _rows(a: FloatArray, idx: IntArray) -> FloatArray:
    return np.take_along_axis(a, idx[:, None], axis=1)[:, 0]


class _DayCurve:
    """One chunk's cumulative basal curves over a day, and each pump's position at its fill."""

    def __init__(self, h: FloatArray, r: FloatArray, counts: IntArray, f: FloatArray) -> None:
        s = h.shape[1]
        valid = np.arange(s) < counts[:, None]
        # Masked steps become zero-length, zero-rate steps at 24 h: the curve ignores them.
        self.h = np.where(valid, h, DAY_H)
        self.r = np.where(valid, r, 0.0)
        end = np.empty_like(self.h)
        end[:, :-1] = self.h[:, 1:]
        end[:, -1] = DAY_H
        seg = self.r * (end - self.h)
        self.cum_end = np.cumsum(seg, axis=1)  # C at the end of each step (mL)
        self.cum_start = self.cum_end - seg  # C at the start of each step
        self.day = self.cum_end[:, -1].copy()  # B: basal day volume (mL)
        self.f = f
        # Step holding the fill's time of day: the last start <= f (the first start is 0).
        jf = (self.h <= f[:, None]).sum(axis=1) - 1
        self.c_fill = _rows(self.cum_start, jf) + _rows(self.r, jf) * (f - _rows(self.h, jf))

    def hours_to_deliver(self, w: FloatArray, per_day_bolus: FloatArray) -> FloatArray:
        """Smallest τ ≥ 0 (h) with delivered(τ) ≥ ``w`` mL; ``per_day_bolus`` = n·V (mL)."""
        day = self.day
        d = day + per_day_bolus
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.maximum(np.ceil(w / d) - 1.0, 0.0)
            # Rounding in w / d can land one period off: settle k so that k·D < W ≤ (k+1)·D.
            k = np.where((k > 0) & (k * d >= w), k - 1.0, k)
            k = np.where((k + 1.0) * d < w, k + 1.0, k)
            rest = np.minimum(w - k * d - per_day_bolus, day)  # left for the basal curve
            need = rest > 0.0
            target = self.c_fill + np.where(need, rest, 0.0)
            wrap = target > day  # reached after midnight, on the next day's curve
            target = np.where(wrap, target - day, target)
            # First step whose end reaches the target level, then linear inside it.
            j = np.minimum((self.cum_end < target[:, None]).sum(axis=1), self.h.shape[1] - 1)
            rate_j = _rows(self.r, j)
            inside = np.divide(
                target - _rows(self.cum_start, j),
                rate_j,
                out=np.zeros_like(target),
                where=rate_j > 0.0,
            )
            t = _rows(self.h, j) + inside + np.where(wrap, DAY_H, 0.0)
            # max(…, 0): rounding must not put the date before the fill.
            within = np.where(need, np.maximum(t - self.f, 0.0), 0.0)
            tau = k * DAY_H + within
        tau = np.where(d > 0.0, tau, np.inf)
        return np.where(w > 0.0, tau, 0.0)
