"""Benchmark: vectorised low-reservoir forecast for a fleet vs per-minute stepping and the scalar
DeliveryModel.

Run: ``.venv/bin/python benchmarks/forecast_fleet.py`` (``--markdown`` adds a table for
benchmarks/README.md). Synthetic data only: the rates, fills and boluses below are random numbers
to exercise the arithmetic, not clinical values.
"""

import argparse
import math
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock

import numpy as np
import numpy.typing as npt
import pint

from thecal.therapy.delivery import DeliveryModel
from thecal.therapy.fleet_forecast import (
    DEFAULT_CHUNK,
    FleetSchedules,
    forecast_fleet,
    refill_by,
)
from thecal.therapy.schedule import PatientBolus, Schedule, day_program, patient_bolus, weekly
from thecal.units import Q_

MAX_STEPS = 24
DAY_MIN = 1440
TOLERANCE_SCALAR_H = 1.0 / 3600.0  # the scalar bisects to 0.1 s; allow 1 s
TOLERANCE_STEP_H = 1.0 / 60.0 + 1.0 / 3600.0  # stepping sees minute ends only: < 1 min late


@dataclass
class ForecastInputs:
    schedules: FleetSchedules
    fill_time_of_day: pint.Quantity
    fill_volume: pint.Quantity
    alarm_threshold: pint.Quantity
    bolus_volume: pint.Quantity
    bolus_max_per_day: npt.NDArray[np.int64]


@dataclass
class Fleet:
    """Everything on a whole-minute grid, so per-minute stepping is exact at minute ends."""

    start_min: npt.NDArray[np.int64]  # N×24 step start, minutes since midnight (padding 1440)
    rate: npt.NDArray[np.float64]  # N×24 mL/h (padding 0)
    count: npt.NDArray[np.int64]  # steps per pump, 1…24
    fill_min: npt.NDArray[np.int64]  # fill time of day, minutes since midnight
    fill_ml: npt.NDArray[np.float64]
    alarm_ml: npt.NDArray[np.float64]
    bolus_ml: npt.NDArray[np.float64]
    bolus_n: npt.NDArray[np.int64]  # worst-case patient boluses per 24 h (0 = none)

    def forecast_inputs(self) -> ForecastInputs:
        """The quantities :func:`forecast_fleet` takes (built once, outside the timing)."""
        return ForecastInputs(
            FleetSchedules(Q_(self.start_min / 60.0, "h"), Q_(self.rate, "mL/h"), self.count),
            Q_(self.fill_min / 60.0, "h"),
            Q_(self.fill_ml, "mL"),
            Q_(self.alarm_ml, "mL"),
            Q_(self.bolus_ml, "mL"),
            self.bolus_n,
        )


def make_fleet(n: int, seed: int) -> Fleet:
    rng = np.random.default_rng(seed)
    count = rng.integers(1, MAX_STEPS + 1, n)
    # count−1 distinct step starts in 1…1439 min: sorted draws from 0…1440−count, plus 1, 2, 3…
    # (a sorted multiset shifted by its index is strictly increasing).
    k = MAX_STEPS - 1
    used = np.arange(k) < (count - 1)[:, None]
    draws = rng.integers(0, (DAY_MIN - (count - 1))[:, None], (n, k))
    draws = np.sort(np.where(used, draws, DAY_MIN), axis=1)
    later = np.where(used, draws + np.arange(1, k + 1), DAY_MIN)
    start_min = np.concatenate([np.zeros((n, 1), np.int64), later], axis=1)
    valid = np.arange(MAX_STEPS) < count[:, None]
    # 0.048–2 mL/d per step, 15 % of steps stopped (0 mL/h).
    rate = rng.uniform(0.048, 2.0, (n, MAX_STEPS)) / 24.0
    rate = np.where(valid & (rng.random((n, MAX_STEPS)) >= 0.15), rate, 0.0)
    has_bolus = rng.random(n) < 0.5
    return Fleet(
        start_min=start_min,
        rate=rate,
        count=count,
        fill_min=rng.integers(0, DAY_MIN, n),
        fill_ml=rng.uniform(10.0, 40.0, n),
        alarm_ml=rng.choice(np.array([2.0, 3.0, 4.0]), n),
        bolus_ml=np.where(has_bolus, rng.uniform(0.01, 0.2, n), 0.0),
        bolus_n=np.where(has_bolus, rng.integers(1, 9, n), 0),
    )


def vectorised(
    inputs: ForecastInputs, chunk: int, stability: pint.Quantity | None = None
) -> npt.NDArray[np.float64]:
    """Worst-case low-reservoir alarm (h from fill) for every pump; with ``stability`` also the
    refill-by time (alarm minus a 1-day margin, capped by each pump's drug-stability limit), so
    the timed run covers both dates the issue asks for."""
    out = forecast_fleet(
        inputs.schedules,
        inputs.fill_time_of_day,
        inputs.fill_volume,
        inputs.alarm_threshold,
        inputs.bolus_volume,
        inputs.bolus_max_per_day,
        chunk_size=chunk,
    )
    if stability is not None:
        refill_by(out.worst_case, Q_(1.0, "d"), stability)
    return np.asarray(out.worst_case.m_as("h"))


def per_minute_stepping(fleet: Fleet, i: int, horizon_days: int = 3650) -> float:
    """The straightforward reference: step the reservoir minute by minute until the alarm."""
    table = [0.0] * DAY_MIN  # mL delivered in each minute of the day
    steps = int(fleet.count[i])
    for j in range(steps):
        end = int(fleet.start_min[i, j + 1]) if j + 1 < steps else DAY_MIN
        for m in range(int(fleet.start_min[i, j]), end):
            table[m] = float(fleet.rate[i, j]) / 60.0
    reservoir = float(fleet.fill_ml[i])
    alarm = float(fleet.alarm_ml[i])
    per_day = float(fleet.bolus_ml[i]) * int(fleet.bolus_n[i])
    minute_of_day = int(fleet.fill_min[i])
    if reservoir <= alarm:
        return 0.0
    for t in range(horizon_days * DAY_MIN):
        if t % DAY_MIN == 0:  # worst case: the day's patient boluses at the start of each 24 h
            reservoir -= per_day
            if reservoir <= alarm:
                return t / 60.0
        reservoir -= table[minute_of_day]
        minute_of_day = minute_of_day + 1 if minute_of_day + 1 < DAY_MIN else 0
        if reservoir <= alarm:
            return (t + 1) / 60.0
    return math.inf


def scalar_inputs(fleet: Fleet, i: int) -> tuple[DeliveryModel, PatientBolus | None, datetime]:
    steps = []
    for j in range(int(fleet.count[i])):
        m = int(fleet.start_min[i, j])
        steps.append((clock(m // 60, m % 60), Q_(float(fleet.rate[i, j]), "mL/h")))
    model = DeliveryModel(Schedule(weekly({}, default=day_program(steps))))
    patient = None
    if fleet.bolus_n[i] > 0:
        # Lockout 1 h: max_count_per_day = min(max_per_day, 24) = bolus_n (≤ 8).
        patient = patient_bolus(
            Q_(float(fleet.bolus_ml[i]), "mL"), Q_(10, "min"), Q_(1, "h"), int(fleet.bolus_n[i])
        )
    start = datetime(2026, 11, 23) + timedelta(minutes=int(fleet.fill_min[i]))
    return model, patient, start


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = math.inf
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pumps", type=int, default=1_000_000)
    parser.add_argument("--subset", type=int, default=200, help="pumps for the slow references")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK)
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    args = parser.parse_args()

    t0 = time.perf_counter()
    fleet = make_fleet(args.pumps, args.seed)
    inputs = fleet.forecast_inputs()
    print(f"generated {args.pumps:,} pumps in {time.perf_counter() - t0:.2f} s")

    vectorised(inputs, args.chunk)  # warm-up (imports, page faults)
    # Synthetic stability limits (random choice of 14/40/84 d or none), for the refill-by step.
    stability = Q_(
        np.random.default_rng(args.seed + 1).choice(
            np.array([14.0, 40.0, 84.0, np.inf]), args.pumps
        ),
        "d",
    )
    vec_s = best_of(3, lambda: vectorised(inputs, args.chunk, stability))
    hours = vectorised(inputs, args.chunk)
    tracemalloc.start()
    vectorised(inputs, args.chunk)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # ru_maxrss is kB on Linux: the whole process, inputs included.
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    finite = np.isfinite(hours)
    print(
        f"vectorised: {args.pumps:,} pumps in {vec_s:.3f} s (best of 3), "
        f"{args.pumps / vec_s:,.0f} pumps/s; {int((~finite).sum())} never reach the alarm; "
        f"median {np.median(hours[finite]) / 24:.1f} d"
    )
    print(
        f"peak memory: {traced_peak / 2**20:.1f} MiB traced in the forecast call "
        f"(chunk {args.chunk}); process max RSS {rss_mb:.0f} MiB"
    )

    # The slow references run on the first `subset` pumps that reach the alarm (an infinite
    # forecast would make stepping run to its horizon; they are counted above).
    subset = np.flatnonzero(finite)[: args.subset]

    t0 = time.perf_counter()
    stepped = np.array([per_minute_stepping(fleet, int(i)) for i in subset])
    step_s = time.perf_counter() - t0
    step_err = stepped - hours[subset]
    step_ok = bool(np.all((step_err >= -TOLERANCE_SCALAR_H) & (step_err < TOLERANCE_STEP_H)))
    minutes_stepped = float(np.sum(stepped) * 60.0)

    t0 = time.perf_counter()
    scalar = []
    for i in subset:
        model, patient, start = scalar_inputs(fleet, int(i))
        end = model.time_to_deliver(start, float(fleet.fill_ml[i] - fleet.alarm_ml[i]), patient)
        scalar.append(math.inf if end is None else (end - start).total_seconds() / 3600.0)
    scalar_s = time.perf_counter() - t0
    scalar_err = np.abs(np.array(scalar) - hours[subset])
    scalar_ok = bool(np.all(scalar_err <= TOLERANCE_SCALAR_H))

    per_pump_vec = vec_s / args.pumps
    per_pump_step = step_s / len(subset)
    per_pump_scalar = scalar_s / len(subset)
    print(
        f"per-minute stepping: {len(subset)} pumps in {step_s:.2f} s "
        f"({per_pump_step * 1e3:.1f} ms/pump, {minutes_stepped / step_s:,.0f} minutes/s); "
        f"agrees (0 ≤ stepping − vectorised < 1 min): {step_ok}, "
        f"max |diff| {np.max(np.abs(step_err)) * 60:.3f} min"
    )
    print(
        f"scalar DeliveryModel: {len(subset)} pumps in {scalar_s:.2f} s "
        f"({per_pump_scalar * 1e3:.2f} ms/pump); agrees within 1 s: {scalar_ok}, "
        f"max |diff| {np.max(scalar_err) * 3600:.4f} s"
    )
    print(
        f"speed-up per pump: {per_pump_step / per_pump_vec:,.0f}× vs per-minute stepping, "
        f"{per_pump_scalar / per_pump_vec:,.0f}× vs scalar DeliveryModel"
    )
    target_ok = vec_s < 1.0 and per_pump_step / per_pump_vec >= 100.0
    print(f"targets (1M < 1 s, ≥ 100× stepping): {'met' if target_ok else 'NOT met'}")

    if args.markdown:
        cpu = platform.processor() or platform.machine()
        rows = [
            ("pumps (vectorised)", f"{args.pumps:,}"),
            ("vectorised wall time, best of 3", f"{vec_s:.3f} s"),
            ("vectorised throughput", f"{args.pumps / vec_s:,.0f} pumps/s"),
            ("vectorised per pump", f"{per_pump_vec * 1e9:.0f} ns"),
            ("peak memory, forecast call (tracemalloc)", f"{traced_peak / 2**20:.1f} MiB"),
            ("process max RSS (inputs included)", f"{rss_mb:.0f} MiB"),
            (
                "per-minute stepping, per pump",
                f"{per_pump_step * 1e3:.1f} ms ({len(subset)} pumps)",
            ),
            (
                "scalar DeliveryModel, per pump",
                f"{per_pump_scalar * 1e3:.2f} ms ({len(subset)} pumps)",
            ),
            ("speed-up vs per-minute stepping", f"{per_pump_step / per_pump_vec:,.0f}×"),
            ("speed-up vs scalar DeliveryModel", f"{per_pump_scalar / per_pump_vec:,.0f}×"),
            ("agrees with stepping (< 1 min)", str(step_ok)),
            ("agrees with scalar (≤ 1 s)", str(scalar_ok)),
            ("chunk size", str(args.chunk)),
            ("Python / numpy", f"{platform.python_version()} / {np.__version__} ({cpu})"),
        ]
        print("\n| measure | value |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
    return 0 if step_ok and scalar_ok else 1


if __name__ == "__main__":
    sys.exit(main())
