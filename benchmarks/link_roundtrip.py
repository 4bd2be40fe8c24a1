"""Link benchmark: a full interrogation (status + 1,000 log events) on loopback TCP, and
authenticated frames per second vs raw AES-256-GCM on this machine.

Run: .venv/bin/python benchmarks/link_roundtrip.py   (target: interrogation under 50 ms)
"""

import os
import statistics
import sys
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.implant.helpers import filled, morphine, pump, simple_program

from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.implant_server import make_server
from thecal.link import (
    AuthBackoff,
    Initiator,
    Responder,
    Role,
    derive_role_key,
    generate_secret,
)
from thecal.link.transport import TcpListener, tcp_connect
from thecal.programmer.clinician import ClinicianProgrammer
from thecal.programmer.link_client import LinkClient
from thecal.therapy.schedule import patient_bolus
from thecal.units import Q_

SERIAL = "BENCH-1"


def interrogation_ms(rounds: int = 20) -> tuple[float, float, int]:
    library, catalog = load_library(), load_catalog()
    dev = pump(catalog, library)
    filled(dev, "20 mL")
    ptb = patient_bolus(Q_("0.02 mL"), Q_("10 min"), Q_("1 h"), 3)
    dev.write_program(simple_program(morphine(library), "0.5 mL/d", "2 mL", ptb))
    while len(dev.events(0)) < 1000:
        dev.patient_bolus_request()  # grants then lockout denials: one log entry each
    n_events = len(dev.events(0))
    secret = generate_secret()
    server = make_server(dev, library, secret, Q_(60, "s"))
    listener = TcpListener(0)
    t = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    t.start()
    key = derive_role_key(secret, dev.serial, Role.CLINICIAN)
    times: list[float] = []
    for _ in range(rounds):
        client = LinkClient(
            tcp_connect(listener.port, 5.0),
            Initiator(dev.serial, Role.CLINICIAN, key, time.monotonic),
            time.monotonic,
            ack_timeout_s=5.0,
        )
        client.connect(5.0)
        c = ClinicianProgrammer(client, library, catalog.pump)
        start = time.perf_counter()
        report = c.interrogate()
        times.append((time.perf_counter() - start) * 1000)
        assert len(report.events) == n_events
        client.close()
    server.stop.set()
    t.join(5)
    listener.close()
    return statistics.median(times), max(times), n_events


def frames_per_second(payload: int = 256, n: int = 20000) -> tuple[float, float]:
    secret = generate_secret()
    key = derive_role_key(secret, "B", Role.CLINICIAN)
    clock = time.monotonic
    init = Initiator("B", Role.CLINICIAN, key, clock)
    resp = Responder("B", secret, clock, AuthBackoff(clock))
    resp.receive_response(init.receive_challenge(resp.receive_hello(init.hello())))
    data = os.urandom(payload)
    start = time.perf_counter()
    for _ in range(n):
        resp.open(init.seal(data))
    link = n / (time.perf_counter() - start)
    aead = AESGCM(os.urandom(32))
    start = time.perf_counter()
    for i in range(n):
        nonce = i.to_bytes(12, "big")
        aead.decrypt(nonce, aead.encrypt(nonce, data, b"h" * 14), b"h" * 14)
    raw = n / (time.perf_counter() - start)
    return link, raw


if __name__ == "__main__":
    med, worst, n = interrogation_ms()
    print(
        f"full interrogation (status + {n} events), loopback TCP: median {med:.1f} ms, "
        f"max {worst:.1f} ms (target < 50 ms)"
    )
    link, raw = frames_per_second()
    print(
        f"256-byte frames sealed+opened: link {link:,.0f}/s, raw AES-GCM {raw:,.0f}/s "
        f"({link / raw:.0%} of raw)"
    )
