"""Benchmark: the virtual implant (``thecal.implant``) in simulated time.

1. One pump for 7 years: SynchroMed II 8637-40, a 5-step flex schedule, 4 patient-bolus requests
   a day, a clinic visit (acknowledge alarms, withdraw the residual, refill) every 35 days. Run
   with the battery model on (the pump reaches ERI and stops 90 days later, as it would) and off
   (it delivers for all 7 years). Baseline measured in the same run: a per-minute stepping
   reference of the same firmware arithmetic over 30 days, scaled to 7 years.
2. A fleet of 10,000 pumps for 1 year each (provisioning included), on 2 worker processes and on
   1 (the baseline). Varied seeded schedules: continuous and flex, 0.1-1 mL/d, some with patient
   boluses, refills scheduled, some visits late so reservoir alarms fire.

Correctness guard: for the 7-year pump and a sample of the fleet, the delivered volume (strokes x
stroke) must match the therapy core's exact ``DeliveryModel`` integral plus the logged bolus
volumes within one stroke; the per-minute reference must agree with the simulator to one stroke;
the 1- and 2-worker fleet runs must give identical results. Exit code 1 if a guard fails.

Run: ``.venv/bin/python benchmarks/implant_sim.py`` (``--markdown`` adds the tables for
benchmarks/README.md). Synthetic data only: rates, boluses, fills and visit intervals are random
numbers to exercise the engine, not clinical values. Numbers the catalog does not publish are
benchmark inputs below (SynchroMed stroke volume, critical-alarm repeat, Prometra non-critical
repeat), exactly as a scenario would have to give them.
"""

import argparse
import gc
import math
import multiprocessing
import platform
import random
import resource
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any

from thecal.adapters.data_files import load_catalog, load_library
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.log import EventKind
from thecal.devices.pump import Program
from thecal.implant import FirmwareLimits, ImplantConfig, SimulatedPump, make_device
from thecal.implant.limits import hard_limits_from_library
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.delivery import DeliveryModel, hours
from thecal.therapy.library import DrugLibrary
from thecal.therapy.schedule import PatientBolus, Schedule, continuous, day_program, patient_bolus
from thecal.therapy.schedule import weekly as weekly_program
from thecal.units import Q_, ureg

START = datetime(2024, 1, 1)  # a Monday
YEAR_D = 365.25
# Benchmark inputs (not public in the catalog; a scenario must give them too):
SYNCHROMED_STROKE_ML = 0.001
CRITICAL_REPEAT_MIN = 10
NONCRITICAL_REPEAT_H = 1  # Prometra only; SynchroMed's "about hourly" comes from the catalog
_STROKE_EPS = 1e-7  # as the firmware: float noise in C(x) / stroke
# Guard: strokes = floor(C / stroke), so 0 <= C - delivered < 1 stroke exactly; the expected
# volume is summed in another order, so allow float noise (1e-6 stroke) on top.
GUARD = 1.0 + 1e-6
# Units parsed once (pint re-parses a string such as "mL/d" on every Q_(value, "mL/d")).
ML, ML_PER_D, H, MIN = (ureg.Unit(u) for u in ("mL", "mL/d", "h", "min"))


# -- plans: plain numbers, picklable, one per pump ----------------------------------------------


@dataclass(frozen=True)
class PumpPlan:
    index: int
    model: str
    drug: str
    concentration: str
    steps: tuple[tuple[int, float], ...]  # (start hour, mL/d); one step at 0 h = continuous
    ptb: tuple[float, int, float, int] | None  # mL, duration min, lockout h, max per day
    requests: tuple[int, ...]  # patient-bolus requests: minutes of the day
    jitter_min: int  # each request moves by up to ± this many minutes, drawn per day
    fill_ml: float
    threshold_ml: float
    visit_days: float  # clinic visit (ack + refill) every this many days
    flow_bias: float | None  # None: drawn from the seed within the catalog's band
    battery: bool = True


SINGLE = PumpPlan(
    index=0,
    model="SynchroMed II 8637-40",
    drug="morphine",
    concentration="10 mg/mL",
    steps=((0, 0.3), (6, 0.5), (12, 0.6), (18, 0.5), (22, 0.35)),
    ptb=(0.02, 10, 2.0, 4),
    requests=(8 * 60 + 7, 12 * 60 + 7, 17 * 60 + 7, 21 * 60 + 7),
    jitter_min=0,
    fill_ml=40.0,
    threshold_ml=2.0,
    visit_days=35.0,
    flow_bias=0.0,
)

MODELS = (
    (0.45, "SynchroMed II 8637-40"),
    (0.70, "SynchroMed II 8637-20"),
    (0.85, "Prometra II 16827"),
    (1.00, "Prometra II 20 mL"),
)


def fleet_plan(index: int, seed: int, catalog: DeviceCatalog) -> PumpPlan:
    """A seeded, varied pump (same plan whatever process builds it)."""
    rng = random.Random(f"{seed}:{index}")
    u = rng.random()
    model = next(m for p, m in MODELS if u < p)
    spec = catalog.pump(model)
    ziconotide = rng.random() < 0.25
    # Ziconotide 25 mcg/mL has a HARD 21.6 mcg/d limit (0.864 mL/d): stay at or below 0.8 mL/d so
    # the firmware accepts it; its programs exercise the firmware's 24 h checks.
    top = 0.8 if ziconotide else 1.0
    if rng.random() < 0.5:
        steps: tuple[tuple[int, float], ...] = ((0, round(rng.uniform(0.1, top), 3)),)
    else:
        starts = sorted(rng.sample(range(1, 24), rng.randint(1, 5)))
        steps = tuple((h, round(rng.uniform(0.1, top), 3)) for h in [0, *starts])
    ptb = None
    requests: tuple[int, ...] = ()
    if not ziconotide and rng.random() < 0.4:
        ptb = (
            round(rng.uniform(0.01, 0.05), 3),
            rng.choice((5, 10, 15)),
            float(rng.choice((1, 2, 3, 4))),
            rng.randint(2, 6),
        )
        # 1-6 requests a day between 07:30 and 22:30 (some beyond the daily maximum or inside
        # the lockout: the firmware denies and logs them).
        requests = tuple(sorted(rng.sample(range(7 * 60 + 30, 22 * 60 + 30), rng.randint(1, 6))))
    capacity = float(spec.reservoir.to(ML).magnitude) if spec.reservoir is not None else 20.0
    alarm = spec.low_reservoir_alarm
    threshold = float(alarm.to(ML).magnitude) if alarm is not None else 2.0
    basal = sum(
        r * (b - a) for (a, r), b in zip(steps, [s for s, _ in steps[1:]] + [24], strict=True)
    )
    worst = basal / 24.0 + (ptb[0] * min(ptb[3], math.ceil(24 / ptb[2])) if ptb else 0.0)
    # The clinic plans the visit for when the worst case reaches the alarm, capped at 84 days
    # (ziconotide undiluted, drugs.toml) / 90 days; 10 % of visits are late (alarms fire).
    days = min(84.0 if ziconotide else 90.0, math.floor((capacity - threshold) / worst))
    if rng.random() < 0.1:
        days += rng.randint(2, 10)
    return PumpPlan(
        index=index,
        model=model,
        drug="ziconotide" if ziconotide else "morphine",
        concentration="25 mcg/mL" if ziconotide else rng.choice(("10 mg/mL", "25 mg/mL")),
        steps=steps,
        ptb=ptb,
        requests=requests,
        jitter_min=20 if requests else 0,
        fill_ml=capacity,
        threshold_ml=threshold,
        visit_days=max(days, 7.0),
        flow_bias=None if model.startswith("Prometra") else 0.0,
    )


# -- building and running one pump ---------------------------------------------------------------


@dataclass
class Context:
    catalog: DeviceCatalog
    library: DrugLibrary
    limits: FirmwareLimits
    admixtures: dict[tuple[str, str], Admixture]

    def admixture(self, drug: str, concentration: str) -> Admixture:
        key = (drug, concentration)
        if key not in self.admixtures:
            self.admixtures[key] = make_admixture([(self.library.get(drug), Q_(concentration))])
        return self.admixtures[key]


def make_context() -> Context:
    library = load_library()
    limits = hard_limits_from_library(library, {"opioid_naive": "false"})
    return Context(load_catalog(), library, limits, {})


def schedule_of(plan: PumpPlan) -> Schedule:
    if len(plan.steps) == 1:
        return Schedule(continuous(Q_(plan.steps[0][1], ML_PER_D)))
    day = day_program([(clock(h, 0), Q_(r, ML_PER_D)) for h, r in plan.steps])
    return Schedule(weekly_program({}, default=day))


def ptb_of(plan: PumpPlan) -> PatientBolus | None:
    if plan.ptb is None:
        return None
    vol, dur, lockout, most = plan.ptb
    return patient_bolus(Q_(vol, ML), Q_(dur, MIN), Q_(lockout, H), most)


class Requests:
    """The patient's requests: at each planned minute of the day (± a seeded jitter), chained so
    the event queue holds one pending request at a time."""

    def __init__(self, plan: PumpPlan, days: float) -> None:
        self.minutes = plan.requests
        self.jitter = plan.jitter_min
        self.rng = random.Random(plan.index)
        self.end = START + timedelta(days=days)
        self.day = 0
        self.k = 0

    def first(self, pump: SimulatedPump) -> None:
        self._next(pump)

    def __call__(self, pump: SimulatedPump) -> None:
        pump.patient_bolus_request()
        self._next(pump)

    def _next(self, pump: SimulatedPump) -> None:
        if self.k == len(self.minutes):
            self.k = 0
            self.day += 1
        minute = self.minutes[self.k] + (
            self.rng.randint(-self.jitter, self.jitter) if self.jitter else 0
        )
        self.k += 1
        at = START + timedelta(days=self.day, minutes=minute)
        if at < self.end:
            pump.schedule(at, self, "patient bolus request")


def build(plan: PumpPlan, ctx: Context, days: float) -> SimulatedPump:
    spec = ctx.catalog.pump(plan.model)
    valve = plan.model.startswith("Prometra")
    config = ImplantConfig(
        serial=f"BENCH{plan.index:06d}",
        start=START,
        critical_alarm_repeat=Q_(CRITICAL_REPEAT_MIN, MIN),
        stroke_volume=None if valve else Q_(SYNCHROMED_STROKE_ML, ML),
        noncritical_alarm_repeat=Q_(NONCRITICAL_REPEAT_H, H) if valve else None,
        flow_bias=plan.flow_bias,
        seed=plan.index,
        simulate_battery=plan.battery,
    )
    pump = make_device(spec, config, ctx.limits)
    fill = Q_(plan.fill_ml, ML)
    pump.fill_reservoir(fill)
    pump.refill(fill)
    program = Program(
        schedule_of(plan),
        ctx.admixture(plan.drug, plan.concentration),
        Q_(plan.threshold_ml, ML),
        ptb_of(plan),
    )
    result = pump.write_program(program)
    if not result.state_changed:
        raise RuntimeError(f"pump {plan.index}: program refused: {result.reason}")

    def visit(p: SimulatedPump) -> None:
        p.acknowledge_alarm()
        p.clinical_refill(fill)

    k = 1
    while k * plan.visit_days < days:
        pump.schedule(START + timedelta(days=k * plan.visit_days, hours=10), visit, "visit")
        k += 1
    if plan.requests:
        Requests(plan, days).first(pump)
    return pump


def count_pops(pump: SimulatedPump) -> list[int]:
    """Count engine events processed (queue pops) on this pump; returns the counter cell."""
    counter = [0]
    queue = pump.queue
    pop = queue.pop

    def counted() -> Any:
        counter[0] += 1
        return pop()

    queue.pop = counted  # type: ignore[method-assign]
    return counter


# -- correctness guard -----------------------------------------------------------------------


def guard(pump: SimulatedPump) -> float:
    """|delivered - expected| in strokes, where expected = the therapy core's exact integral of
    the program over the delivering intervals + the bolus volumes the log reports as given."""
    fw = pump.firmware
    assert fw.program is not None and fw.offset == 0.0
    model = DeliveryModel(fw.program.schedule)
    expected = 0.0
    since: float | None = None
    for e in pump.events():
        starts = e.kind is EventKind.PROGRAM_WRITTEN and since is None
        if starts or e.kind is EventKind.DELIVERY_RESUMED:
            since = e.sim_hours
        elif e.kind is EventKind.DELIVERY_PAUSED and since is not None:
            expected += model.cumulative(e.sim_hours) - model.cumulative(since)
            since = None
        elif e.kind is EventKind.BOLUS_END:
            expected += next(v for name, v, _ in e.values if name == "volume")
    now = hours(pump.now)
    if since is not None:
        expected += model.cumulative(now) - model.cumulative(since)
    expected += sum(r.rate * (now - r.start) for r in fw.ramps)  # boluses still running
    delivered = float(pump.peek().delivered_total.to(ML).magnitude)
    return abs(delivered - expected) / fw.stroke


# -- the per-minute stepping baseline --------------------------------------------------------


def stepping_reference(plan: PumpPlan, days: int, battery: tuple[float, float, float]) -> int:
    """The straightforward way: step the firmware's arithmetic minute by minute (basal + running
    patient boluses -> commanded volume -> whole strokes -> reservoir estimate -> low / empty
    alarm checks -> battery budget), with the same visits and requests. All of the plan's times
    fall on whole minutes, so minute ends are exact. Returns the strokes done."""
    assert plan.ptb is not None and plan.jitter_min == 0
    q, e_stroke, per_session = battery
    per_minute = [0.0] * 1440
    bounds = [h * 60 for h, _ in plan.steps[1:]] + [1440]
    for (h, rate), end in zip(plan.steps, bounds, strict=True):
        for m in range(h * 60, end):
            per_minute[m] = rate / 1440.0
    vol, dur, lockout_h, most = plan.ptb
    lockout = round(lockout_h * 60)
    ramp_rate = vol / dur  # mL/min
    stroke = SYNCHROMED_STROKE_ML
    every = round(plan.visit_days * 1440)  # visits at k × every + 10 h, as in build()
    requests = set(plan.requests)
    commanded = 0.0
    strokes = 0
    fill_est, fill_strokes = plan.fill_ml, 0
    starts: deque[int] = deque()
    ramp_ends: list[int] = []
    sessions = 2  # provisioning: refill + program write
    low = empty = eri = False
    for m in range(days * 1440):
        if m > 600 and (m - 600) % every == 0:  # visit: acknowledge + refill, two sessions
            sessions += 2
            fill_est, fill_strokes = plan.fill_ml, strokes
        if m % 1440 in requests:
            sessions += 1
            while starts and starts[0] <= m - 1440:
                starts.popleft()
            if (not starts or m - starts[-1] >= lockout) and len(starts) < most:
                starts.append(m)
                ramp_ends.append(m + dur)
        if ramp_ends and ramp_ends[0] <= m:
            ramp_ends = [t for t in ramp_ends if t > m]
        commanded += per_minute[m % 1440] + ramp_rate * len(ramp_ends)
        n = math.floor(commanded / stroke + _STROKE_EPS)
        if n > strokes:
            strokes = n
        estimate = fill_est - (strokes - fill_strokes) * stroke
        low = estimate <= plan.threshold_ml
        empty = estimate < stroke
        eri = eri or q * (m + 1) / 60.0 + e_stroke * strokes + per_session * sessions >= 1.0
    assert not (low or empty or eri)  # none within the reference span
    return strokes


# -- runs --------------------------------------------------------------------------------------


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = math.inf
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


@dataclass
class SingleResult:
    wall_s: float
    log_events: int
    engine_events: int
    guard_strokes: float
    eos_years: float | None


def single_pump(ctx: Context, battery: bool, years: float, runs: int) -> SingleResult:
    p = replace(SINGLE, battery=battery)
    days = years * YEAR_D
    end = START + timedelta(days=days)

    def run() -> SimulatedPump:
        pump = build(p, ctx, days)
        pump.advance(end)
        return pump

    run()  # warm-up
    wall = best_of(runs, run)
    pump = build(p, ctx, days)
    pops = count_pops(pump)
    pump.advance(end)
    eos = pump.peek().eos_at
    return SingleResult(
        wall,
        len(pump.events()),
        pops[0],
        guard(pump),
        (eos - START).days / YEAR_D if eos is not None else None,
    )


_CTX: Context | None = None


def _context() -> Context:
    global _CTX
    if _CTX is None:
        _CTX = make_context()
    return _CTX


@dataclass(frozen=True)
class FleetRow:
    index: int
    log_events: int
    engine_events: int
    delivered_ml: float
    alarms_raised: int
    build_s: float
    run_s: float


def run_chunk(job: tuple[int, int, int, float]) -> list[FleetRow]:
    """Build and run pumps ``lo`` to ``hi - 1`` of the fleet (one worker task)."""
    lo, hi, seed, days = job
    ctx = _context()
    end = START + timedelta(days=days)
    rows = []
    for i in range(lo, hi):
        t0 = time.perf_counter()
        pump = build(fleet_plan(i, seed, ctx.catalog), ctx, days)
        pops = count_pops(pump)
        t1 = time.perf_counter()
        pump.advance(end)
        t2 = time.perf_counter()
        events = pump.events()
        rows.append(
            FleetRow(
                i,
                len(events),
                pops[0],
                float(pump.peek().delivered_total.to(ML).magnitude),
                sum(1 for e in events if e.kind is EventKind.ALARM_RAISED),
                t1 - t0,
                t2 - t1,
            )
        )
    return rows


def run_fleet(
    pumps: int, seed: int, days: float, workers: int, chunk: int
) -> tuple[float, float, list[FleetRow]]:
    """Wall time, CPU time (this process + its workers) and the rows, in pump order."""
    jobs = [(lo, min(lo + chunk, pumps), seed, days) for lo in range(0, pumps, chunk)]
    cpu0 = _cpu()
    t0 = time.perf_counter()
    if workers == 1:
        rows = [r for job in jobs for r in run_chunk(job)]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            rows = [r for part in pool.imap_unordered(run_chunk, jobs) for r in part]
    wall = time.perf_counter() - t0
    return wall, _cpu() - cpu0, sorted(rows, key=lambda r: r.index)


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished (reaped) workers."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pumps", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--years", type=float, default=7.0, help="single-pump span")
    parser.add_argument("--fleet-years", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=100, help="pumps per worker task")
    parser.add_argument("--sample", type=int, default=100, help="fleet pumps for the guard")
    parser.add_argument("--reference-days", type=int, default=30)
    parser.add_argument("--markdown", action="store_true", help="also print markdown tables")
    args = parser.parse_args()
    ok = True
    ctx = _context()
    # Catalog, library and pint's registry live for the whole run: move them out of the cyclic
    # GC's generations (standard before forking workers); the simulation's own objects are
    # collected as usual.
    gc.collect()
    gc.freeze()
    sim_s_single = args.years * YEAR_D * 86400.0

    # 1. one pump, 7 years
    singles = {b: single_pump(ctx, b, args.years, 5) for b in (True, False)}
    for b, r in singles.items():
        good = r.guard_strokes < GUARD
        ok &= good
        eos = f"EOS at {r.eos_years:.2f} y" if r.eos_years is not None else "no battery model"
        print(
            f"single pump, {args.years:g} y, battery {'on' if b else 'off'} ({eos}): "
            f"{r.wall_s:.3f} s (best of 5), {sim_s_single / r.wall_s:,.0f} sim-s/s, "
            f"{r.log_events:,} log events ({r.log_events / r.wall_s:,.0f}/s), "
            f"{r.engine_events:,} engine events ({r.engine_events / r.wall_s:,.0f}/s); "
            f"guard {r.guard_strokes:.4f} strokes: {'ok' if good else 'FAILED'}"
        )

    # per-minute stepping baseline (battery on: the same arithmetic the firmware runs)
    p = replace(SINGLE, battery=True)
    days = args.reference_days
    probe = build(p, ctx, days)
    fw = probe.firmware
    cal = (fw._q, fw._e_stroke, fw._per_session)
    probe.advance(START + timedelta(days=days))
    sim_strokes = fw.strokes
    ref_s = best_of(3, lambda: stepping_reference(p, days, cal))
    ref_strokes = stepping_reference(p, days, cal)
    # the event-driven side over the same span, advance only (the stepping builds nothing)
    event_s = math.inf
    for _ in range(5):
        pump = build(p, ctx, days)
        t0 = time.perf_counter()
        pump.advance(START + timedelta(days=days))
        event_s = min(event_s, time.perf_counter() - t0)
    ref_ok = abs(ref_strokes - sim_strokes) <= 1
    ok &= ref_ok
    ref_scaled = ref_s * args.years * YEAR_D / days
    print(
        f"per-minute stepping, {days} d: {ref_s:.3f} s ({days * 1440 / ref_s:,.0f} minutes/s) "
        f"-> {ref_scaled:.2f} s scaled to {args.years:g} y; event-driven {days} d: "
        f"{event_s * 1e3:.2f} ms; strokes {ref_strokes} vs {sim_strokes}: "
        f"{'ok' if ref_ok else 'FAILED'}"
    )
    speedup_7y = ref_scaled / singles[True].wall_s
    print(
        f"speed-up vs stepping: {speedup_7y:,.0f}x over {args.years:g} y (scaled), "
        f"{ref_s / event_s:,.0f}x over the same {days} d"
    )

    # 2. fleet
    fleet_days = args.fleet_years * YEAR_D
    sim_s_fleet = args.pumps * fleet_days * 86400.0
    walls: dict[int, float] = {}
    cpus: dict[int, float] = {}
    results: dict[int, list[FleetRow]] = {}
    for w in sorted({args.workers, 1}, reverse=True):
        walls[w], cpus[w], results[w] = run_fleet(args.pumps, args.seed, fleet_days, w, args.chunk)
    rows = results[args.workers]
    same = all(
        (a.log_events, a.engine_events, a.delivered_ml)
        == (b.log_events, b.engine_events, b.delivered_ml)
        for a, b in zip(results[1], rows, strict=True)
    )
    ok &= same
    log_n = sum(r.log_events for r in rows)
    eng_n = sum(r.engine_events for r in rows)
    build_s = sum(r.build_s for r in results[1])
    adv_s = sum(r.run_s for r in results[1])
    alarmed = sum(1 for r in rows if r.alarms_raised)
    for w in sorted(walls, reverse=True):
        print(
            f"fleet, {args.pumps:,} pumps x {args.fleet_years:g} y, {w} worker(s): "
            f"{walls[w]:.1f} s (CPU {cpus[w]:.1f} s), "
            f"{sim_s_fleet / walls[w]:,.0f} sim-s/s, {log_n / walls[w]:,.0f} log events/s, "
            f"{eng_n / walls[w]:,.0f} engine events/s"
        )
    print(
        f"fleet: {log_n:,} log events, {eng_n:,} engine events, {alarmed:,} pumps raised an "
        f"alarm; 1 worker: build {build_s:.1f} s + advance {adv_s:.1f} s; "
        f"speed-up {args.workers} vs 1 worker: {walls[1] / walls[args.workers]:.2f}x; "
        f"identical results: {same}"
    )

    # fleet guard on an evenly spread sample, re-simulated here (outside the timing)
    step = max(1, args.pumps // max(1, args.sample))
    worst = 0.0
    sample = range(0, args.pumps, step)
    for i in sample:
        pump = build(fleet_plan(i, args.seed, ctx.catalog), ctx, fleet_days)
        pump.advance(START + timedelta(days=fleet_days))
        worst = max(worst, guard(pump))
        ok &= float(pump.peek().delivered_total.to(ML).magnitude) == rows[i].delivered_ml
    ok &= worst < GUARD
    print(f"fleet guard: {len(sample)} pumps, worst |delivered - exact| {worst:.4f} strokes")

    single_ok = all(r.wall_s < 0.5 for r in singles.values())
    fleet_ok = walls[args.workers] < 60.0
    print(
        f"targets: {args.years:g} pump-years < 0.5 s {'met' if single_ok else 'NOT met'}; "
        f"fleet < 60 s {'met' if fleet_ok else 'NOT met'}; guards {'ok' if ok else 'FAILED'}"
    )

    if args.markdown:
        cpu = platform.processor() or platform.machine()
        table: list[tuple[str, str]] = []
        for b, r in singles.items():
            tag = f"{args.years:g} y, battery {'on' if b else 'off'}"
            table += [
                (f"one pump, {tag}: wall time (best of 5)", f"{r.wall_s:.3f} s"),
                (f"one pump, {tag}: simulated s per wall s", f"{sim_s_single / r.wall_s:,.0f}"),
                (
                    f"one pump, {tag}: log events (per s)",
                    f"{r.log_events:,} ({r.log_events / r.wall_s:,.0f}/s)",
                ),
                (
                    f"one pump, {tag}: engine events (per s)",
                    f"{r.engine_events:,} ({r.engine_events / r.wall_s:,.0f}/s)",
                ),
                (f"one pump, {tag}: guard", f"{r.guard_strokes:.4f} strokes (< 1)"),
            ]
        table += [
            (f"per-minute stepping, {days} d", f"{ref_s:.3f} s ({days * 1440 / ref_s:,.0f} min/s)"),
            (f"per-minute stepping scaled to {args.years:g} y", f"{ref_scaled:.2f} s"),
            (f"speed-up vs stepping ({args.years:g} y, battery on)", f"{speedup_7y:,.0f}×"),
            (f"speed-up vs stepping (same {days} d)", f"{ref_s / event_s:,.0f}×"),
        ]
        for w in sorted(walls, reverse=True):
            table += [
                (
                    f"fleet, {w} worker(s): wall time (CPU time)",
                    f"{walls[w]:.1f} s ({cpus[w]:.1f} s)",
                ),
                (f"fleet, {w} worker(s): simulated s per wall s", f"{sim_s_fleet / walls[w]:,.0f}"),
                (
                    f"fleet, {w} worker(s): log / engine events per s",
                    f"{log_n / walls[w]:,.0f} / {eng_n / walls[w]:,.0f}",
                ),
            ]
        table += [
            ("fleet speed-up, 2 vs 1 worker", f"{walls[1] / walls[args.workers]:.2f}×"),
            ("fleet 1 worker: build / advance", f"{build_s:.1f} s / {adv_s:.1f} s"),
            ("fleet log events / engine events", f"{log_n:,} / {eng_n:,}"),
            ("fleet pumps that raised an alarm", f"{alarmed:,}"),
            ("fleet guard (sample)", f"{len(sample)} pumps, worst {worst:.4f} strokes (< 1)"),
            ("Python", f"{platform.python_version()} ({cpu})"),
        ]
        print("\n| measure | value |\n|---|---|")
        for name, value in table:
            print(f"| {name} | {value} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
