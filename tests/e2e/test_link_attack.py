"""Attacks on a real implant server on 127.0.0.1: held connections, half-sent frames, a
slowloris, framing garbage, accept errors, guessing from many source ports. After each the
legitimate programmer still interrogates the implant and the server thread is alive.

Timeouts are shortened (tests.e2e.attack.TEST_LIMITS); the legitimate request gets a generous
30 s. How fast it is answered under attack is measured in benchmarks/link_attack.py."""

import errno
import logging
import socket
import struct
import time

import pytest

from tests.e2e.attack import (
    attack,
    clinician,
    interrogate,
    release,
    served,
)
from tests.unit.programmer.helpers import SERIAL
from thecal.link import ErrorCode, Initiator, Role, TransportClosed, derive_role_key
from thecal.link.transport import TcpListener, TcpTransport, tcp_connect
from thecal.programmer.commands import Op
from thecal.programmer.link_client import LinkClient, LinkRefused


def _closed_by_server(s: socket.socket, within_s: float = 10.0) -> bool:
    """True once the server has closed ``s`` (EOF or reset)."""
    s.settimeout(within_s)
    try:
        while s.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def test_thousand_idle_connections_from_one_host(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "thecal.implant")
    with served() as sv:
        held = attack(sv.port, 1000, partial=False)
        try:
            report, attempts = interrogate(sv)
            assert report.status.serial == SERIAL
            # One address may hold 4 connections, so the programmer, from another address,
            # got in on its first attempt.
            assert attempts == 1
            assert sv.thread.is_alive()
            # Every attacker connection was refused at once or closed by the handshake
            # timeout; most were refused (at most 4 held at any time).
            assert all(_closed_by_server(s) for s in held)
        finally:
            release(held)
    timeouts = [r for r in caplog.records if "127.0.0.2:" in r.getMessage()]
    assert all("handshake timeout" in r.getMessage() for r in timeouts)
    assert sv.server.admission.refused + len(timeouts) == 1000
    assert sv.server.admission.refused > 1000 // 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_thousand_half_sent_frames_from_many_hosts() -> None:
    with served() as sv:
        # 250 addresses x 4: the total cap (32) fills; each newcomer evicts the oldest
        # connection without a session, the programmer's included until it authenticates.
        held = attack(sv.port, 1000, partial=True, hosts=250)
        try:
            report, _ = interrogate(sv)
            assert report.status.serial == SERIAL
            assert sv.thread.is_alive()
            assert sv.server.admission.evicted >= 1000 - 32
        finally:
            release(held)


def test_idle_and_half_sent_together_then_programmer() -> None:
    with served() as sv:
        held = attack(sv.port, 1000, partial=False, hosts=100)
        held += attack(sv.port, 1000, partial=True, hosts=100)
        try:
            report, _ = interrogate(sv)
            assert report.status.serial == SERIAL and report.events
            assert sv.thread.is_alive()
        finally:
            release(held)


def test_slowloris_dribbling_a_frame_is_closed() -> None:
    with served() as sv:
        s = socket.create_connection(("127.0.0.1", sv.port), timeout=5.0)
        frame = struct.pack(">IBBQ", 200, 1, 1, 0) + bytes(190)
        closed = False
        try:
            # One byte every 50 ms keeps the connection far from idle, but the frame never
            # completes within frame_s: the server closes it.
            for i in range(len(frame)):
                s.sendall(frame[i : i + 1])
                time.sleep(0.05)
        except OSError:
            closed = True
        closed = closed or _closed_by_server(s)
        s.close()
        assert closed
        assert interrogate(sv)[0].status.serial == SERIAL


def test_established_session_left_idle_is_closed() -> None:
    with served() as sv:
        client = clinician(sv)
        try:
            # Nothing sent for longer than idle_s (1 s): the server closes the connection.
            with pytest.raises(TransportClosed):
                client.transport.receive(10.0)
        finally:
            client.close()


@pytest.mark.parametrize(
    "garbage",
    [
        struct.pack(">I", 0xFFFFFFFF),  # declares 4 GiB: refused before buffering
        struct.pack(">I", 3),  # below the 30-byte minimum
        bytes(64),  # length 0
    ],
)
def test_framing_error_ends_the_connection_quietly(
    garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "thecal.implant")
    with served() as sv:
        s = socket.create_connection(("127.0.0.1", sv.port), timeout=5.0)
        s.sendall(garbage)
        assert _closed_by_server(s)
        s.close()
        assert interrogate(sv)[0].status.serial == SERIAL
        assert sv.thread.is_alive()
    framing = [r for r in caplog.records if "framing error" in r.getMessage()]
    assert framing and all(r.exc_info is None for r in framing)  # logged, no traceback
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


class _FailingListener:
    """The real listener, but the first ``failures`` accepts fail as if out of descriptors."""

    def __init__(self, inner: TcpListener, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    @property
    def port(self) -> int:
        return self.inner.port

    @property
    def closed(self) -> bool:
        return self.inner.closed

    def accept(self, timeout_s: float) -> TcpTransport:
        if self.failures > 0:
            self.failures -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        return self.inner.accept(timeout_s)


def test_accept_loop_survives_running_out_of_descriptors() -> None:
    with served(wrap=lambda real: _FailingListener(real, 3)) as sv:
        report, _ = interrogate(sv)
        assert report.status.serial == SERIAL
        assert sv.server.accept_errors == 3
        assert sv.thread.is_alive()


def test_handshake_failures_from_many_source_ports_hit_the_backoff() -> None:
    with served() as sv:
        wrong = derive_role_key(bytes(32), SERIAL, Role.CLINICIAN)  # not this implant's key
        codes: list[ErrorCode] = []
        ports: set[int] = set()
        for _ in range(5):
            transport = tcp_connect(sv.port, 5.0)
            ports.add(transport._sock.getsockname()[1])
            client = LinkClient(
                transport,
                Initiator(SERIAL, Role.CLINICIAN, wrong, time.monotonic),
                time.monotonic,
                ack_timeout_s=5.0,
            )
            with pytest.raises(LinkRefused) as refused:
                client.connect(5.0)
            codes.append(refused.value.code)
            client.close()
        assert len(ports) == 5  # five connections, five source ports, one host
        # The first attempt fails authentication; every later one, from a new port, is still
        # inside the back-off (1 s after one failure) and is refused before any key check.
        assert codes[0] == ErrorCode.BAD_TAG
        assert codes[1:] == [ErrorCode.BACKOFF] * 4
        assert sv.server.backoff.failures("127.0.0.1:1") == 1
        # The legitimate programmer on this host waits out the back-off too, then gets in.
        assert interrogate(sv)[0].status.serial == SERIAL


def test_flood_does_not_evict_an_established_session() -> None:
    with served() as sv:
        client = clinician(sv)
        try:
            held = attack(sv.port, 1000, partial=False, hosts=250)
            try:
                # The session was authenticated before the flood: it keeps its slot.
                assert client.call(Op.CLOCK_READ).ok
                # The server accepts the flood at its own pace on a busy machine: wait (bounded,
                # not a speed check) until it has had to evict, then the session must still work.
                deadline = time.monotonic() + 60
                while sv.server.admission.evicted == 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert sv.server.admission.evicted > 0
                assert client.call(Op.CLOCK_READ).ok
            finally:
                release(held)
        finally:
            client.close()
