"""Clinic load benchmark: dashboard and refill-calendar latency with 100,000 patients, and
calendar throughput under 50 concurrent clients beside the same server's cheapest page, with
``thecal serve --workers N`` (default 2).

Run: .venv/bin/python benchmarks/clinic_load.py [--markdown] [--workers 2]
(targets from issues 5 and 13: calendar p95 under 100 ms; calendar throughput at least 0.5 of
the same server's minimal endpoint)

1. Builds a database at the head schema with N synthetic patients, each with an implanted
   pump, a prescription (the packaged ``refill-morphine`` example plan) and one refill carrying
   a refill-by date spread from 30 days ago to 120 days ahead (seeded RNG). Rows go in through
   SQLAlchemy core bulk inserts at schema 0002, so the audit log is not written for them
   (random numbers to load the queries, not a clinic); migrating to head then fills the
   refill calendar's index with migration 0003's SQL. SQLite: built once, cached under
   ``$TMPDIR/thecal-bench``. PostgreSQL when ``$THECAL_BENCH_POSTGRES_URL`` is set: its
   ``public`` schema is replaced unless it already holds the same number of patients.
2. Starts ``thecal serve --no-demo --workers N --database-url ...`` on 127.0.0.1 (a free
   ephemeral port), logs in through ``POST /api/v1/login`` and times N sequential ``GET /``
   (dashboard), ``GET /api/v1/calendar`` and ``GET /login`` requests: p50 / p95 / p99, and the
   server's CPU time per request (its processes' user + system time from /proc, Linux), which
   other load on the machine barely moves.
3. 50 client threads (httpx, one keep-alive client each) share a fixed number of requests with a
   time cap, first on the calendar and then on ``GET /login`` — the app has no health endpoint,
   so the login page (a template render, no database query) is the ceiling. Reports the ratio.
4. Stops the server.
"""

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from thecal.adapters.data_files import example_plan
from thecal.adapters.plan_files import parse_plan
from thecal.api.security import hash_password
from thecal.store.database import make_engine
from thecal.store.migrate import upgrade
from thecal.store.schema import (
    CredentialRow,
    DeviceRow,
    PatientRow,
    PrescriptionRow,
    RefillRow,
    UserRow,
)

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "bench", "bench-password-not-secret"
PUMPS = ("SynchroMed II 8637-20", "Prometra II 20 mL")
DECIDED = ("low-reservoir alarm", "drug stability limit", "planned refill appointment")


def _id(rng: random.Random) -> str:
    return uuid.UUID(int=rng.getrandbits(128)).hex


POSTGRES_ENV = "THECAL_BENCH_POSTGRES_URL"


def build_database(url: str, patients: int, seed: int, today: date) -> None:
    """Create the database at ``url`` (head schema) with ``patients`` synthetic patients; bulk
    core inserts."""
    engine = make_engine(url)
    try:
        # Rows go in at 0002; migrating to head afterwards fills the calendar index the way an
        # existing clinic's database is filled (0003's SQL backfill), timed below.
        upgrade(engine, "0002")
        rng = random.Random(seed)
        plan_json = parse_plan(example_plan("refill-morphine.toml")).model_dump_json()
        created = datetime.combine(today - timedelta(days=400), datetime.min.time())
        with engine.begin() as conn:
            user_id = _id(rng)
            conn.execute(
                insert(UserRow),
                [{"id": user_id, "username": USER, "display_name": "Benchmark", "role": "nurse"}],
            )
            conn.execute(
                insert(CredentialRow),
                [{"user_id": user_id, "password_hash": hash_password(PASSWORD)}],
            )
        chunk = 10_000
        for start in range(0, patients, chunk):
            pats, devs, rxs, refs = [], [], [], []
            for i in range(start, min(start + chunk, patients)):
                pid, did = _id(rng), _id(rng)
                pats.append({
                    "id": pid, "mrn": f"B{i:07d}", "display_name": f"Synthetic {i}",
                    "birth_year": rng.randint(1940, 2005), "opioid_naive": False,
                    "spasticity_origin": None, "notes": "", "version": 1,
                })  # fmt: skip
                devs.append({
                    "id": did, "patient_id": pid, "kind": "pump", "model": rng.choice(PUMPS),
                    "serial": f"BENCH-{i:07d}",
                    "implanted_on": today - timedelta(days=rng.randint(30, 2500)),
                    "removed_on": None, "implanted_length": None, "tip_level": None,
                    "volume": None, "notes": "",
                })  # fmt: skip
                rxs.append({
                    "id": _id(rng), "patient_id": pid, "version": 1, "plan_json": plan_json,
                    "author": USER, "reason": "benchmark", "created_at": created,
                })  # fmt: skip
                performed = datetime.combine(
                    today - timedelta(days=rng.randint(1, 60)), datetime.min.time()
                ) + timedelta(hours=9)
                refill_by = datetime.combine(
                    today + timedelta(days=rng.randint(-30, 120)), datetime.min.time()
                ) + timedelta(hours=9)
                planned = refill_by - timedelta(days=3) if rng.random() < 0.3 else None
                decided = rng.choice(DECIDED[:2])
                candidates = (
                    f'[{{"at": "{refill_by.isoformat()}", "kind": "alarm", '
                    f'"reason": "{decided}", "source": "benchmark (synthetic)"}}]'
                )
                refs.append({
                    "id": _id(rng), "patient_id": pid, "device_id": did,
                    "prescription_version": 1, "performed_at": performed,
                    "expected_remaining": f"{rng.uniform(2, 6)!r} mL",
                    "withdrawn": f"{rng.uniform(2, 6)!r} mL", "discrepancy": "0.0 mL",
                    "filled": "20.0 mL", "confirmed_after_fill": None, "drug_lot": "LOT-B",
                    "concentrations": '[["morphine", "10 mg/mL"]]', "by": USER,
                    "refill_by": refill_by, "decided_by": decided, "planned_refill": planned,
                    "candidates": candidates, "findings": "[]", "overrides": "[]",
                })  # fmt: skip
            with engine.begin() as conn:
                conn.execute(insert(PatientRow), pats)
                conn.execute(insert(DeviceRow), devs)
                conn.execute(insert(PrescriptionRow), rxs)
                conn.execute(insert(RefillRow), refs)
        t0 = time.perf_counter()
        upgrade(engine)
        print(f"migrated to head (calendar index backfill) in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)  # fmt: skip
    finally:
        engine.dispose()


def cached_database(patients: int, seed: int, today: date) -> Path:
    """The database for (patients, seed, today), built on first use. Migrated to head again at
    each start by the server, so a cache from an older schema gains new indexes."""
    folder = Path(tempfile.gettempdir()) / "thecal-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"clinic-{patients}-{seed}-{today.isoformat()}.sqlite3"
    if not path.exists():
        partial = path.with_suffix(".partial")
        for stale in folder.glob(partial.name + "*"):
            stale.unlink()
        t0 = time.perf_counter()
        build_database(f"sqlite:///{partial}", patients, seed, today)
        os.replace(partial, path)
        for extra in ("-wal", "-shm"):
            Path(str(partial) + extra).unlink(missing_ok=True)
        print(f"built {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return path


def postgres_database(url: str, patients: int, seed: int, today: date) -> str:
    """``url`` holding ``patients`` synthetic patients: kept when it has that many already,
    else its ``public`` schema is replaced and built (bulk inserts, then migrated to head)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            try:
                have = conn.execute(select(func.count()).select_from(PatientRow)).scalar_one()
            except Exception:  # no schema yet
                have = -1
        if have == patients:
            upgrade(engine)
            return url
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    t0 = time.perf_counter()
    build_database(url, patients, seed, today)
    print(f"built {patients} patients in PostgreSQL in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)  # fmt: skip
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "THECAL_SECRET_KEY": "benchmark-secret-not-for-use"}
    thecal = ROOT / ".venv" / "bin" / "thecal"
    proc = subprocess.Popen(
        [str(thecal), "serve", "--no-demo", "--host", "127.0.0.1", "--port", str(port),
         "--database-url", url, "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            httpx.get(f"{base}/login", timeout=1.0)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("server did not start in 120 s")


def login(client: httpx.Client) -> None:
    r = client.post("/api/v1/login", json={"username": USER, "password": PASSWORD})
    r.raise_for_status()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]  # nearest-rank


@dataclass
class Latency:
    path: str
    n: int
    p50: float
    p95: float
    p99: float
    size: int
    cpu: float  # server CPU seconds per request (all its processes), NaN off Linux


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its children (the workers),
    from /proc; NaN where there is none. Unlike wall time, barely moved by other load."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        names = os.listdir("/proc")
    except OSError:
        return float("nan")
    for name in names:
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def latency(base: str, path: str, n: int, timeout: float, pid: int | None = None) -> Latency:
    """``n`` sequential GETs after one warm-up; seconds, and the server's CPU per request."""
    with httpx.Client(base_url=base, timeout=timeout) as client:
        login(client)
        r = client.get(path)
        r.raise_for_status()
        times = []
        cpu0 = server_cpu(pid) if pid is not None else float("nan")
        for _ in range(n):
            t0 = time.perf_counter()
            r = client.get(path)
            times.append(time.perf_counter() - t0)
            r.raise_for_status()
        cpu = (server_cpu(pid) - cpu0) / n if pid is not None else float("nan")
    return Latency(path, n, statistics.median(times), percentile(times, 95),
                   percentile(times, 99), len(r.content), cpu)  # fmt: skip


@dataclass
class Throughput:
    path: str
    done: int
    errors: int
    seconds: float

    @property
    def rps(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def throughput(base: str, path: str, clients: int, total: int, cap: float,
               timeout: float) -> Throughput:  # fmt: skip
    """``clients`` threads take requests from a shared budget of ``total`` until it is spent or
    ``cap`` seconds have passed (bounded either way)."""
    lock = threading.Lock()
    left = [total]
    done, errors = [0], [0]
    ready = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=timeout) as client:
            login(client)
            ready.wait()
            while True:
                with lock:
                    if left[0] <= 0 or time.perf_counter() > stop_at[0]:
                        return
                    left[0] -= 1
                try:
                    ok = client.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    done[0] += ok
                    errors[0] += not ok

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + 1e9  # set for real once every client is logged in
    ready.wait()
    t0 = time.perf_counter()
    stop_at[0] = t0 + cap
    for t in threads:
        t.join()
    return Throughput(path, done[0], errors[0], time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 23),
                    help="the data's today (the server has its own clock)")  # fmt: skip
    ap.add_argument("--requests", type=int, default=50, help="sequential requests per page")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--load-requests", type=int, default=500, help="shared request budget")
    ap.add_argument("--cap", type=float, default=60.0, help="time cap per load phase, s")
    ap.add_argument("--timeout", type=float, default=120.0, help="per-request timeout, s")
    ap.add_argument("--calendar", default="/api/v1/calendar", help="calendar path (+query)")
    ap.add_argument("--minimal", default="/login", help="the ceiling endpoint")
    ap.add_argument("--workers", type=int, default=2, help="thecal serve --workers")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    pg = os.environ.get(POSTGRES_ENV)
    if pg:
        url = postgres_database(pg, args.patients, args.seed, args.today)
        where = "PostgreSQL"
    else:
        db = cached_database(args.patients, args.seed, args.today)
        url = f"sqlite:///{db}"
        where = f"SQLite, {db.stat().st_size / 2**20:.0f} MiB"
    proc, base = start_server(url, args.workers)
    try:
        lat = [latency(base, p, args.requests, args.timeout, proc.pid)
               for p in ("/", args.calendar, args.minimal)]  # fmt: skip
        tp = [throughput(base, p, args.clients, args.load_requests, args.cap, args.timeout)
              for p in (args.calendar, args.minimal)]  # fmt: skip
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    ms = 1000.0
    if args.markdown:
        print(f"patients: {args.patients:,}; {where}; {args.workers} workers\n")
        print("| request | n | p50 | p95 | p99 | server CPU / request | body |")
        print("|---|---|---|---|---|---|---|")
        for x in lat:
            print(f"| GET {x.path} | {x.n} | {x.p50 * ms:.1f} ms | {x.p95 * ms:.1f} ms | "
                  f"{x.p99 * ms:.1f} ms | {x.cpu * ms:.2f} ms | "
                  f"{x.size / 1024:.0f} KiB |")  # fmt: skip
        print(f"\n| {args.clients} clients | requests ok | errors | wall | req/s |")
        print("|---|---|---|---|---|")
        for t in tp:
            print(f"| GET {t.path} | {t.done} | {t.errors} | {t.seconds:.1f} s | {t.rps:.1f} |")
    else:
        for x in lat:
            print(f"GET {x.path}: n={x.n} p50={x.p50 * ms:.1f} ms p95={x.p95 * ms:.1f} ms "
                  f"p99={x.p99 * ms:.1f} ms cpu={x.cpu * ms:.2f} ms body={x.size} B")  # fmt: skip
        for t in tp:
            print(f"{args.clients} clients GET {t.path}: {t.done} ok, {t.errors} errors in "
                  f"{t.seconds:.1f} s = {t.rps:.1f} req/s")  # fmt: skip
    ceiling = tp[1].rps
    ratio = tp[0].rps / ceiling if ceiling else float("nan")
    verdict = "meets" if ratio >= 0.5 else "MISSES"
    print(
        f"\ncalendar / ceiling ({args.minimal}) throughput: {ratio:.2f} ({verdict} the 0.5 target)"
    )
    cost = lat[2].cpu / lat[1].cpu if lat[1].cpu else float("nan")
    print(
        f"server CPU per request, {args.minimal} / calendar: {cost:.2f} (the throughput ratio "
        "a machine with nothing else running would approach)"
    )
    for x in lat[:2]:
        verdict = "meets" if x.p95 < 0.100 else "MISSES"
        print(f"GET {x.path}: p95 {x.p95 * ms:.1f} ms {verdict} the 100 ms target")


if __name__ == "__main__":
    main()
