"""A virtual implant served on 127.0.0.1 with short connection limits, attackers that hold
connections from other loopback addresses (127.0.x.y: every one is this machine), and the
legitimate clinician programmer. Shared by the attack tests and ``benchmarks/link_attack.py``.

Numbers here are test inputs (short timeouts so a test runs in seconds), not product values.
"""

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tests.unit.programmer.helpers import MAX_AGE, SERIAL, implant
from tests.unit.programmer.stim_helpers import SETTINGS as STIM_SETTINGS
from tests.unit.programmer.stim_helpers import stim
from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.implant_server import ImplantServer, command_logger
from thecal.implant import SimulatedPump
from thecal.implant.stimulator_device import SimulatedStimulator
from thecal.link import Initiator, LinkError, Role, TransportError, derive_role_key
from thecal.link.admission import ConnectionLimits
from thecal.link.transport import TcpListener, tcp_connect
from thecal.programmer.clinician import ClinicianProgrammer, InterrogationReport
from thecal.programmer.implant_server import ImplantCommandHandler, ServerSettings
from thecal.programmer.link_client import LinkClient, LinkRefused

# Test inputs: limits short enough that held connections are shed within a second.
TEST_LIMITS = ConnectionLimits(
    handshake_s=0.5, idle_s=1.0, frame_s=0.5, max_per_peer=4, max_total=32
)


@dataclass
class Served:
    dev: SimulatedPump
    server: ImplantServer
    listener: TcpListener
    thread: threading.Thread
    secret: bytes

    @property
    def port(self) -> int:
        return self.listener.port


@contextlib.contextmanager
def served(
    limits: ConnectionLimits = TEST_LIMITS,
    wrap: Callable[[TcpListener], object] | None = None,
) -> Iterator[Served]:
    """An implant serving TCP on 127.0.0.1 in a thread (``wrap`` may wrap its listener)."""
    library, catalog = load_library(), load_catalog()
    dev = implant(catalog, library)
    secret = bytes(range(32))  # test key
    handler = ImplantCommandHandler(
        dev,
        library.get,
        ServerSettings(MAX_AGE, journal_size=256, page_bytes=48_000),
        logger=command_logger,
    )
    server = ImplantServer(handler, secret, limits=limits)
    real = TcpListener(0)
    listener = real if wrap is None else wrap(real)
    thread = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    try:
        yield Served(dev, server, real, thread, secret)
    finally:
        server.stop.set()
        thread.join(timeout=10)
        real.close()


@dataclass
class ServedIpg:
    """A virtual IPG (the rechargeable test IPG: groups A and B) served as :class:`Served`."""

    dev: SimulatedStimulator
    server: ImplantServer
    listener: TcpListener
    thread: threading.Thread
    secret: bytes

    @property
    def port(self) -> int:
        return self.listener.port


@contextlib.contextmanager
def served_stimulator(limits: ConnectionLimits = TEST_LIMITS) -> Iterator[ServedIpg]:
    """The rechargeable test IPG serving TCP on 127.0.0.1 in a thread."""
    dev = stim()
    secret = bytes(range(32))  # test key
    handler = ImplantCommandHandler(dev, None, STIM_SETTINGS, logger=command_logger)
    server = ImplantServer(handler, secret, limits=limits)
    listener = TcpListener(0)
    thread = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    try:
        yield ServedIpg(dev, server, listener, thread, secret)
    finally:
        server.stop.set()
        thread.join(timeout=10)
        listener.close()


def source(i: int, hosts: int) -> str:
    """The ``i``-th attacker's loopback address: 127.0.0.2 alone, or one of ``hosts``
    addresses 127.1.x.y (never 127.0.0.1, the legitimate programmer's)."""
    if hosts == 1:
        return "127.0.0.2"
    k = i % hosts
    return f"127.1.{k // 250}.{k % 250 + 1}"


def attack(port: int, count: int, *, partial: bool, hosts: int = 1) -> list[socket.socket]:
    """Open ``count`` connections and hold them: idle, or having sent part of a frame (a
    header announcing 200 bytes, then 10 bytes of them). The server may close any at once."""
    held: list[socket.socket] = []
    head = struct.pack(">IBBQ", 200, 1, 1, 0) + bytes(10)  # 24 of 204 bytes
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.append(s)
        s.settimeout(10.0)
        try:
            s.bind((source(i, hosts), 0))
            s.connect(("127.0.0.1", port))
            if partial:
                s.sendall(head)
        except OSError:
            pass  # refused or reset by the server: that is its right
    return held


def release(held: list[socket.socket]) -> None:
    for s in held:
        s.close()


def clinician(served: Served, ack_timeout_s: float = 30.0) -> LinkClient:
    """The legitimate programmer (from 127.0.0.1), connected and handshaken."""
    key = derive_role_key(served.secret, SERIAL, Role.CLINICIAN)
    client = LinkClient(
        tcp_connect(served.port, 10.0),
        Initiator(SERIAL, Role.CLINICIAN, key, time.monotonic),
        time.monotonic,
        ack_timeout_s=ack_timeout_s,
    )
    client.connect(ack_timeout_s)
    return client


def interrogate(served: Served, deadline_s: float = 30.0) -> tuple[InterrogationReport, int]:
    """Interrogate as the legitimate programmer, retrying while the implant is full (a refused
    connection is closed at once); return the report and the attempts it took."""
    library, catalog = load_library(), load_catalog()
    deadline = time.monotonic() + deadline_s
    attempts = 0
    while True:
        attempts += 1
        try:
            client = clinician(served)
        except (TransportError, LinkRefused, LinkError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
            continue
        try:
            return ClinicianProgrammer(client, library, catalog.pump).interrogate(), attempts
        finally:
            client.close()
