"""Stimulator link benchmark: a full impedance check (every contact monopolar and bipolar,
the safe maxima after the clamp) over the authenticated link on loopback TCP, as a ratio to a
pump interrogation (status + journal + its log) measured in the same run on the same machine.

Run: .venv/bin/python benchmarks/stimulator_link.py [--rounds 30]   (target: under 50 ms)

Both implants are served by the same server code on 127.0.0.1 (thread, ephemeral port); each
round opens a fresh session (handshake outside the timing), times one operation from the call
to its decoded result, and closes. Median of the rounds after one warm-up round.
"""

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.implant.stimulator.helpers import PRIMARY, device
from tests.unit.programmer.helpers import implant

from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.implant_server import ImplantServer, make_server
from thecal.adapters.stimulator_server import make_stimulator_server
from thecal.link import Initiator, Role, derive_role_key, generate_secret
from thecal.link.transport import TcpListener, tcp_connect
from thecal.programmer.clinician import ClinicianProgrammer
from thecal.programmer.link_client import LinkClient
from thecal.programmer.stimulator import StimulatorProgrammer
from thecal.units import Q_

MAX_AGE = Q_(60, "s")  # benchmark input: staleness bound


def _timed(
    server: ImplantServer, serial: str, secret: bytes, rounds: int, op: Callable[[LinkClient], int]
) -> tuple[list[float], int]:
    listener = TcpListener(0)
    t = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    t.start()
    key = derive_role_key(secret, serial, Role.CLINICIAN)
    times: list[float] = []
    size = 0
    try:
        for i in range(rounds + 1):
            client = LinkClient(
                tcp_connect(listener.port, 5.0),
                Initiator(serial, Role.CLINICIAN, key, time.monotonic),
                time.monotonic,
                ack_timeout_s=5.0,
            )
            client.connect(5.0)
            start = time.perf_counter()
            size = op(client)
            elapsed = (time.perf_counter() - start) * 1000
            if i:  # the first round warms the caches up
                times.append(elapsed)
            client.close()
    finally:
        server.stop.set()
        t.join(5)
        listener.close()
    return times, size


def impedance_check(rounds: int) -> tuple[list[float], int]:
    dev = device(PRIMARY)  # 8-contact lead: 8 monopolar + 7 bipolar + 1 area reading
    secret = generate_secret()
    server = make_stimulator_server(dev, secret, MAX_AGE)

    def op(client: LinkClient) -> int:
        out = StimulatorProgrammer(client).impedance_test()
        assert out.report is not None and out.result.state_changed
        return len(out.report.readings)

    return _timed(server, dev.serial, secret, rounds, op)


def pump_interrogation(rounds: int) -> tuple[list[float], int]:
    library, catalog = load_library(), load_catalog()
    dev = implant(catalog, library)  # filled, one program written: a short log
    secret = generate_secret()
    server = make_server(dev, library, secret, MAX_AGE)

    def op(client: LinkClient) -> int:
        report = ClinicianProgrammer(client, library, catalog.pump).interrogate()
        return len(report.events)

    return _timed(server, dev.serial, secret, rounds, op)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    base, events = pump_interrogation(args.rounds)
    imp, readings = impedance_check(args.rounds)
    b, i = statistics.median(base), statistics.median(imp)
    print(f"pump interrogation (status + {events} events), median of {len(base)}: {b:.2f} ms")
    print(
        f"stimulator impedance check ({readings} readings), median of {len(imp)}: {i:.2f} ms "
        f"(max {max(imp):.2f} ms) — target < 50 ms: {'met' if i < 50 else 'NOT met'}"
    )
    print(f"ratio impedance check / pump interrogation: {i / b:.2f}")
    if i >= 50:
        sys.exit(1)


if __name__ == "__main__":
    main()
