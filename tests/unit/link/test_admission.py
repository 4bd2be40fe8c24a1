"""Connection admission and deadlines (pure), and the back-off keyed by peer address."""

import math

import pytest

from tests.unit.link.helpers import FakeClock
from thecal.link import AuthBackoff
from thecal.link.admission import Admission, ConnectionLimits, expiry, peer_address

LIMITS = ConnectionLimits(handshake_s=2.0, idle_s=5.0, frame_s=1.0, max_per_peer=2, max_total=3)


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("127.0.0.1:40123", "127.0.0.1"),
        ("127.0.0.1:1", "127.0.0.1"),
        ("[::1]:4500", "::1"),
        ("in-process", "in-process"),
        ("host:", "host:"),
        (":4500", ":4500"),
        ("a:b", "a:b"),
    ],
)
def test_peer_address_is_the_host(peer: str, address: str) -> None:
    assert peer_address(peer) == address


def _limits(**changes: float) -> ConnectionLimits:
    values: dict[str, float] = dict(
        handshake_s=10.0, idle_s=120.0, frame_s=10.0, max_per_peer=4, max_total=32
    )
    values.update(changes)
    return ConnectionLimits(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
@pytest.mark.parametrize("name", ["handshake_s", "idle_s", "frame_s"])
def test_timeouts_must_be_finite_and_positive(name: str, bad: float) -> None:
    with pytest.raises(ValueError, match=name):
        _limits(**{name: bad})


@pytest.mark.parametrize("name", ["max_per_peer", "max_total"])
def test_caps_must_be_at_least_one(name: str) -> None:
    with pytest.raises(ValueError):
        _limits(**{name: 0})


def test_per_peer_cap_counts_the_address_not_the_port() -> None:
    a = Admission(LIMITS)
    assert a.admit("127.0.0.2:1000") is not None
    assert a.admit("127.0.0.2:1001") is not None  # 2 = max_per_peer: the cap itself is allowed
    assert a.admit("127.0.0.2:1002") is None  # a third, from a new port, is refused
    assert a.count("127.0.0.2:9") == 2 and a.refused == 1
    assert a.admit("127.0.0.3:1000") is not None  # another address has its own allowance


def test_full_implant_evicts_the_oldest_unauthenticated_connection() -> None:
    a = Admission(LIMITS)
    first = a.admit("10.0.0.1:1")
    second = a.admit("10.0.0.2:1")
    third = a.admit("10.0.0.3:1")
    assert first and second and third and a.total == 3  # = max_total
    a.established(first.id)  # an authenticated session is never evicted
    fourth = a.admit("10.0.0.4:1")
    assert fourth is not None and fourth.evict == second.id  # oldest without a session
    assert a.total == 3 and a.count("10.0.0.2:1") == 0 and a.evicted == 1
    a.release(second.id)  # its thread ends later: giving back twice changes nothing
    assert a.total == 3


def test_full_implant_of_authenticated_sessions_refuses() -> None:
    a = Admission(LIMITS)
    slots = [a.admit(f"10.0.0.{i}:1") for i in range(1, 4)]
    for slot in slots:
        assert slot is not None
        a.established(slot.id)
    assert a.admit("10.0.0.9:1") is None and a.refused == 1
    assert slots[1] is not None
    a.release(slots[1].id)
    assert a.total == 2
    assert a.admit("10.0.0.9:1") is not None


def test_expiry_edges() -> None:
    # Each limit is reached when now - start >= limit (2 s handshake, 1 s frame, 5 s idle).
    def why(now: float, established: bool = False, partial: float | None = None) -> str | None:
        return expiry(
            LIMITS,
            now,
            accepted_at=100.0,
            established=established,
            last_frame_at=100.0,
            partial_since=partial,
        )

    assert why(101.999) is None
    assert why(102.0) == "handshake"
    assert why(102.0, established=True) is None  # the handshake limit ends at establishment
    assert why(100.999, partial=100.0) is None
    assert why(101.0, partial=100.0) == "partial-frame"
    assert why(104.999, established=True) is None
    assert why(105.0, established=True) == "idle"


def test_backoff_is_keyed_by_address_not_port() -> None:
    clock = FakeClock()
    backoff = AuthBackoff(clock, base_s=1.0, max_s=300.0, max_peers=1024)
    assert backoff.record_failure("127.0.0.1:50001") == 1.0
    # A new connection (new source port) from the same host is still waiting.
    assert backoff.retry_after_s("127.0.0.1:50002") == 1.0
    assert backoff.record_failure("127.0.0.1:50003") == 2.0  # 1 s x 2**(2-1)
    assert backoff.failures("127.0.0.1:1") == 2
    assert backoff.retry_after_s("127.0.0.2:50001") == 0.0  # another host is not affected
    backoff.record_success("127.0.0.1:60000")
    assert backoff.failures("127.0.0.1:50001") == 0
