"""benchmarks/clinic_load.py on a tiny clinic (30 patients): the database builds, ``thecal
serve --workers 2`` starts (two processes on one SQLite file), the calendar answers under
concurrent clients and a logout through one connection holds for the others. Timings are
the benchmark's business (benchmarks/README.md), never asserted here."""

import importlib.util
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "clinic_load", ROOT / "benchmarks" / "clinic_load.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["clinic_load"] = module
    spec.loader.exec_module(module)
    return module


def test_clinic_load_runs_with_two_workers(tmp_path: Path) -> None:
    bench = _bench()
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    bench.build_database(url, 30, 1, date(2026, 11, 23))
    proc, base = bench.start_server(url, 2)
    try:
        lat = bench.latency(base, "/api/v1/calendar?limit=10", 3, 60.0)
        assert lat.n == 3 and lat.size > 0
        tp = bench.throughput(base, "/api/v1/calendar?limit=10", 4, 20, 60.0, 60.0)
        assert tp.done == 20 and tp.errors == 0
        # A logout is refused by whichever worker gets the next request.
        with httpx.Client(base_url=base, timeout=60.0) as client:
            r = client.post(
                "/api/v1/login", json={"username": bench.USER, "password": bench.PASSWORD}
            )
            token = r.json()["csrf"]
            cookie = client.cookies["thecal_session"]
            assert client.post("/api/v1/logout", headers={"X-CSRF-Token": token}).is_success
        for _ in range(6):  # new connections: the two workers both answer some
            with httpx.Client(base_url=base, timeout=60.0, cookies={"thecal_session": cookie}) as c:
                assert c.get("/api/v1/patients").status_code == 401
    finally:
        proc.terminate()
        proc.wait(30)
