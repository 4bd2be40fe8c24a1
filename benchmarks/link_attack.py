"""Link attack benchmark: how fast the legitimate programmer's interrogation is answered while
1,000 idle connections and 1,000 half-sent frames are held against the implant server, as a
ratio to the same interrogation without attack, measured in the same run.

Run: .venv/bin/python benchmarks/link_attack.py     (target: answered within 1 s under attack)

The server runs the product connection limits (``ConnectionLimits()``: 10 s handshake, 4 per
address, 32 in total) on 127.0.0.1. Scenarios:

* ``one-host``: every attacker connection comes from 127.0.0.2 (the per-address cap holds it);
* ``many-hosts``: attackers spread over 250 loopback addresses 127.1.x.y, so the total cap
  fills and each newcomer evicts the oldest connection without a session. Run with the test
  limits (0.5 s handshake) and with the product limits.

Each interrogation is a new connection: handshake, clock read, interrogate, close.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import logging

from tests.e2e.attack import TEST_LIMITS, attack, interrogate, release, served

from thecal.link.admission import ConnectionLimits

ROUNDS = 10


def timed(sv: object) -> tuple[float, int]:
    t0 = time.perf_counter()
    _, attempts = interrogate(sv, deadline_s=60.0)  # type: ignore[arg-type]
    return time.perf_counter() - t0, attempts


def scenario(name: str, limits: ConnectionLimits, hosts: int) -> dict[str, float]:
    with served(limits) as sv:
        base = [timed(sv)[0] for _ in range(ROUNDS)]
        held = attack(sv.port, 1000, partial=False, hosts=hosts)
        held += attack(sv.port, 1000, partial=True, hosts=hosts)
        try:
            under = [timed(sv) for _ in range(ROUNDS)]
        finally:
            release(held)
        alive = sv.thread.is_alive()
    first_s = under[0][0]
    times = [t for t, _ in under]
    out = {
        "baseline median ms": statistics.median(base) * 1000,
        "first under attack ms": first_s * 1000,
        "under attack median ms": statistics.median(times) * 1000,
        "under attack max ms": max(times) * 1000,
        "ratio median": statistics.median(times) / statistics.median(base),
        "attempts (first)": float(under[0][1]),
        "server alive": float(alive),
    }
    print(f"\n{name}")
    for k, v in out.items():
        print(f"  {k:24s} {v:10.1f}")
    return out


def main() -> int:
    logging.disable(logging.WARNING)  # thousands of refusal/timeout lines otherwise
    results = {
        "one-host, product limits": scenario("one-host, product limits", ConnectionLimits(), 1),
        "many-hosts, test limits": scenario("many-hosts, test limits (0.5 s)", TEST_LIMITS, 250),
        "many-hosts, product limits": scenario(
            "many-hosts, product limits (10 s)", ConnectionLimits(), 250
        ),
    }
    ok = all(r["under attack max ms"] < 1000 and r["server alive"] for r in results.values())
    print("\ntarget (every interrogation under attack within 1 s):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
