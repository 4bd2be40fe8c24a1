"""Worklist load benchmark: ``GET /api/v1/worklist`` (and the HTML ``GET /worklist``) with
100,000 patients — p50/p95/p99 and the server's CPU per request, and throughput under
concurrent clients as a ratio to the same server's cheapest page (``GET /login``), measured in
the same run, as benchmarks/clinic_load.py measures the calendar. In-process also: the
automatic prompts' light read (how many devices the rules are run on, and what that costs,
from a sample; the worklist page loads them after the list).

Run: .venv/bin/python benchmarks/worklist_load.py [--markdown] [--workers 2]
(target from issue 13: p95 under 100 ms; the throughput ratio is reported, as the calendar's)

The database is clinic_load's (same builder and cache, ``$TMPDIR/thecal-bench``; PostgreSQL
with ``$THECAL_BENCH_POSTGRES_URL``): each patient has a pump, a prescription and one refill
whose refill-by date is spread from 30 days ago to 120 days ahead, so about a fifth of the
patients are overdue — every one a worklist item. Before the server runs, ``--profile`` times
the worklist in-process with cProfile and prints the top entries (where the time goes).
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import clinic_load
from thecal.adapters.composition import build_services
from thecal.adapters.decision_files import assessment_services, clinic_rules
from thecal.clinic.worklist_prompts import candidates
from thecal.store.database import make_engine


def in_process(url: str, today: date, runs: int, profile: bool) -> list[float]:
    """Seconds per ``services.worklist()`` call on ``url`` (no HTTP), ``runs`` times after one
    warm-up; with ``profile`` the last run's top cumulative entries are printed."""
    engine = make_engine(url)
    try:
        now = datetime.combine(today, datetime.min.time()).replace(hour=10)
        svc = build_services(engine=engine, clock=lambda: now, migrate=False)
        n = len(svc.worklist())
        times = []
        for i in range(runs):
            prof = cProfile.Profile() if profile and i == runs - 1 else None
            t0 = time.perf_counter()
            if prof is not None:
                prof.enable()
            svc.worklist()
            if prof is not None:
                prof.disable()
            times.append(time.perf_counter() - t0)
            if prof is not None:
                pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(15)
        print(f"in-process worklist: {n:,} items; {', '.join(f'{t:.2f} s' for t in times)}",
              file=sys.stderr)  # fmt: skip
        return times
    finally:
        engine.dispose()


def prompts(url: str, today: date, sample: int) -> None:
    """The automatic prompts' candidates (count, seconds) and the rules run on ``sample`` of
    them, extrapolated to all (printed to stderr)."""
    engine = make_engine(url)
    try:
        now = datetime.combine(today, datetime.min.time()).replace(hour=10)
        svc = build_services(engine=engine, clock=lambda: now, migrate=False)
        auto = assessment_services(svc)
        with svc.uow.reader() as repo:
            t0 = time.perf_counter()
            found = candidates(repo, svc.catalog, clinic_rules())
            picked = time.perf_counter() - t0
            devices = len(repo.devices_in_place())
            assert found is not None
            t0 = time.perf_counter()
            fired = 0
            for c in found[:sample]:
                _, _, result = auto._run(repo, c.patient_id, {}, c.device_id)
                fired += bool(result.fired)
            each = (time.perf_counter() - t0) / max(1, min(sample, len(found)))
        print(f"automatic prompts: {len(found):,} candidates of {devices:,} devices in place, "
              f"chosen in {picked:.2f} s; rules {each * 1000:.1f} ms a device "
              f"({fired} of {min(sample, len(found))} sampled fire): all candidates "
              f"~{each * len(found):.0f} s, every device ~{each * devices:.0f} s",
              file=sys.stderr)  # fmt: skip
    finally:
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 23))
    ap.add_argument("--requests", type=int, default=10, help="sequential requests per path")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--load-requests", type=int, default=40, help="shared request budget")
    ap.add_argument("--cap", type=float, default=60.0, help="time cap per load phase, s")
    ap.add_argument("--timeout", type=float, default=300.0, help="per-request timeout, s")
    ap.add_argument("--worklist", default="/api/v1/worklist")
    ap.add_argument("--page", default="/worklist", help="the HTML worklist page")
    ap.add_argument("--minimal", default="/login", help="the ceiling endpoint")
    ap.add_argument(
        "--prompts-sample",
        type=int,
        default=300,
        help="devices the rules are run on to time the automatic prompts (0: skip)",
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="in-process worklist calls")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    pg = os.environ.get(clinic_load.POSTGRES_ENV)
    if pg:
        url = clinic_load.postgres_database(pg, args.patients, args.seed, args.today)
        where = "PostgreSQL"
    else:
        db = clinic_load.cached_database(args.patients, args.seed, args.today)
        url, where = f"sqlite:///{db}", "SQLite"
    local = in_process(url, args.today, args.runs, args.profile)
    if args.prompts_sample:
        prompts(url, args.today, args.prompts_sample)
    proc, base = clinic_load.start_server(url, args.workers)
    try:
        lat = [clinic_load.latency(base, p, args.requests, args.timeout, proc.pid)
               for p in (args.worklist, args.page, args.minimal)]  # fmt: skip
        tp = [clinic_load.throughput(base, p, args.clients, args.load_requests, args.cap,
                                     args.timeout)
              for p in (args.worklist, args.minimal)]  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(30)

    ms = 1000.0
    print(f"patients: {args.patients:,}; {where}; {args.workers} workers; in-process worklist "
          f"median {statistics.median(local) * ms:.0f} ms\n")  # fmt: skip
    if args.markdown:
        print("| request | n | p50 | p95 | p99 | server CPU / request | body |")
        print("|---|---|---|---|---|---|---|")
        for x in lat:
            print(f"| GET {x.path} | {x.n} | {x.p50 * ms:.1f} ms | {x.p95 * ms:.1f} ms | "
                  f"{x.p99 * ms:.1f} ms | {x.cpu * ms:.1f} ms | "
                  f"{x.size / 1024:.1f} KiB |")  # fmt: skip
        print(f"\n| {args.clients} clients | requests ok | errors | wall | req/s |")
        print("|---|---|---|---|---|")
        for t in tp:
            print(f"| GET {t.path} | {t.done} | {t.errors} | {t.seconds:.1f} s | {t.rps:.2f} |")
    else:
        for x in lat:
            print(f"GET {x.path}: n={x.n} p50={x.p50 * ms:.1f} ms p95={x.p95 * ms:.1f} ms "
                  f"cpu={x.cpu * ms:.1f} ms body={x.size} B")  # fmt: skip
        for t in tp:
            print(f"{args.clients} clients GET {t.path}: {t.done} ok, {t.errors} errors, "
                  f"{t.rps:.2f} req/s")  # fmt: skip
    ratio = tp[0].rps / tp[1].rps if tp[1].rps else float("nan")
    print(f"server CPU per request, {args.minimal} / worklist: {lat[2].cpu / lat[0].cpu:.2f}"
          if lat[0].cpu else "")  # fmt: skip
    print(f"\nworklist / ceiling ({args.minimal}) throughput: {ratio:.3f}")
    verdict = "meets" if lat[0].p95 < 0.100 else "MISSES"
    print(f"GET {args.worklist}: p95 {lat[0].p95 * ms:.1f} ms {verdict} the 100 ms target")


if __name__ == "__main__":
    main()
