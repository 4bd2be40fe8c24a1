"""Transports: in-process pipe, TCP on 127.0.0.1, and the seeded fault injector."""

import contextlib
import random
import struct
import threading

import pytest

from tests.unit.link.helpers import OTHER_SECRET, SECRET, SERIAL, FakeClock, established
from thecal.link import (
    ErrorCode,
    FrameError,
    Initiator,
    LinkError,
    ReplayError,
    Responder,
    Role,
    SessionState,
    TransportClosed,
    TransportTimeout,
    derive_role_key,
)
from thecal.link.session import AuthBackoff
from thecal.link.transport import (
    FaultyTransport,
    InProcessTransport,
    TcpListener,
    run_initiator_handshake,
    run_responder_handshake,
    tcp_connect,
)

TIMEOUT_S = 5.0


def test_in_process_pair_round_trip_and_close() -> None:
    a, b = InProcessTransport.pair()
    a.send(b"frame-1")
    assert b.receive(0.1) == b"frame-1"
    with pytest.raises(TransportTimeout):
        b.receive(0.01)
    a.close()
    with pytest.raises(TransportClosed):
        b.receive(0.1)
    with pytest.raises(TransportClosed):
        a.send(b"x")


def _serve(listener: TcpListener, result: dict[str, object]) -> None:
    """Implant side of the TCP test: handshake, echo one request upper-cased, then close."""
    clock = FakeClock()
    transport = listener.accept(TIMEOUT_S)
    try:
        responder = Responder(
            SERIAL,
            SECRET,
            clock,
            AuthBackoff(clock, base_s=1.0, max_s=60.0, max_peers=1024),
            peer=transport.peer,
            logger=lambda e: None,
        )
        run_responder_handshake(transport, responder, TIMEOUT_S)
        msg = responder.open(transport.receive(TIMEOUT_S))
        transport.send(responder.seal(msg.payload.upper()))
        result["role"] = responder.role
    except LinkError as exc:
        result["error"] = exc
    finally:
        transport.close()


def test_tcp_round_trip_on_loopback() -> None:
    with TcpListener(port=0) as listener:
        assert listener.port > 0
        result: dict[str, object] = {}
        server = threading.Thread(target=_serve, args=(listener, result), daemon=True)
        server.start()
        clock = FakeClock()
        key = derive_role_key(SECRET, SERIAL, Role.PATIENT)
        transport = tcp_connect(listener.port, TIMEOUT_S)
        try:
            client = Initiator(SERIAL, Role.PATIENT, key, clock)
            run_initiator_handshake(transport, client, TIMEOUT_S)
            transport.send(client.seal(b"status?"))
            assert client.open(transport.receive(TIMEOUT_S)).payload == b"STATUS?"
        finally:
            transport.close()
        server.join(TIMEOUT_S)
        assert not server.is_alive()
    assert result == {"role": Role.PATIENT}


def test_tcp_wrong_key_gets_error_frame() -> None:
    with TcpListener(port=0) as listener:
        result: dict[str, object] = {}
        server = threading.Thread(target=_serve, args=(listener, result), daemon=True)
        server.start()
        key = derive_role_key(OTHER_SECRET, SERIAL, Role.CLINICIAN)
        transport = tcp_connect(listener.port, TIMEOUT_S)
        try:
            client = Initiator(SERIAL, Role.CLINICIAN, key, FakeClock())
            with pytest.raises(LinkError) as info:
                run_initiator_handshake(transport, client, TIMEOUT_S)
            assert info.value.code is ErrorCode.BAD_TAG  # the implant's ERROR, as PeerError
            assert client.state is SessionState.AWAIT_CHALLENGE
        finally:
            transport.close()
        server.join(TIMEOUT_S)
    assert isinstance(result["error"], LinkError)


def test_tcp_oversized_length_closes_connection() -> None:
    with TcpListener(port=0) as listener:
        client = tcp_connect(listener.port, TIMEOUT_S)
        server = listener.accept(TIMEOUT_S)
        try:
            client.send(struct.pack(">I", 2**31))  # announces a 2 GiB frame
            with pytest.raises(FrameError) as info:
                server.receive(TIMEOUT_S)
            assert info.value.code is ErrorCode.TOO_LARGE
            with pytest.raises(TransportClosed):
                server.receive(0.1)
        finally:
            client.close()
            server.close()


def test_listener_refuses_non_loopback() -> None:
    with pytest.raises(ValueError):
        TcpListener(host="0.0.0.0")
    with pytest.raises(ValueError):
        tcp_connect(1, 0.1, host="10.0.0.1")


def test_drop_everything() -> None:
    a, b = InProcessTransport.pair()
    faulty = FaultyTransport(a, random.Random(1), drop=1.0)
    faulty.send(b"x")
    with pytest.raises(TransportTimeout):
        b.receive(0.01)
    assert [f.kind for f in faulty.faults] == ["drop"]


def test_duplicate_is_refused_as_replay() -> None:
    link = established()
    a, b = InProcessTransport.pair()
    FaultyTransport(a, random.Random(1), duplicate=1.0).send(link.client.seal(b"bolus"))
    assert link.server.open(b.receive(0.1)).payload == b"bolus"
    with pytest.raises(ReplayError):
        link.server.open(b.receive(0.1))


def test_corruption_is_always_refused() -> None:
    link = established()
    a, b = InProcessTransport.pair()
    faulty = FaultyTransport(a, random.Random(7), corrupt=1.0)
    for i in range(50):
        faulty.send(link.client.seal(f"cmd {i}".encode()))
        before = link.server.snapshot()
        with pytest.raises(LinkError):
            link.server.open(b.receive(0.1))
        assert link.server.snapshot() == before
    assert len(faulty.faults) == 50


def test_reorder_holds_one_frame_back() -> None:
    link = established()
    a, b = InProcessTransport.pair()
    faulty = FaultyTransport(a, random.Random(3), reorder=1.0)
    faulty.send(link.client.seal(b"first"))
    faulty.send(link.client.seal(b"second"))  # sent, then the held "first" follows
    assert link.server.open(b.receive(0.1)).payload == b"second"
    with pytest.raises(ReplayError):
        link.server.open(b.receive(0.1))


def test_delay_uses_injected_sleep() -> None:
    slept: list[float] = []
    a, b = InProcessTransport.pair()
    FaultyTransport(a, random.Random(0), delay=1.0, delay_s=0.25, sleep=slept.append).send(b"x")
    assert slept == [0.25] and b.receive(0.1) == b"x"


def test_faults_are_reproducible_from_the_seed() -> None:
    def run(seed: int) -> list[tuple[str, int]]:
        a, _ = InProcessTransport.pair()
        faulty = FaultyTransport(a, random.Random(seed), drop=0.2, corrupt=0.2, duplicate=0.2)
        for i in range(100):
            faulty.send(bytes([i]) * 40)
        return [(f.kind, f.frame_index) for f in faulty.faults]

    assert run(42) == run(42)
    assert run(42) != run(43)
    kinds = {k for k, _ in run(42)}
    assert kinds == {"drop", "corrupt", "duplicate"}


def test_probabilities_validated() -> None:
    a, _ = InProcessTransport.pair()
    with pytest.raises(ValueError):
        FaultyTransport(a, random.Random(0), drop=1.5)


def test_lossy_link_never_delivers_a_frame_twice() -> None:
    # Every fault at once over 300 frames: whatever arrives is accepted at most once, in order.
    link = established()
    a, b = InProcessTransport.pair()
    faulty = FaultyTransport(
        a, random.Random(2024), drop=0.1, corrupt=0.1, duplicate=0.2, reorder=0.1
    )
    for i in range(300):
        faulty.send(link.client.seal(str(i).encode()))
    accepted: list[int] = []
    while True:
        try:
            wire = b.receive(0.01)
        except TransportTimeout:
            break
        with contextlib.suppress(LinkError):
            accepted.append(int(link.server.open(wire).payload))
    assert accepted == sorted(set(accepted))
    assert 0 < len(accepted) < 300
    assert link.server.state is SessionState.ESTABLISHED
