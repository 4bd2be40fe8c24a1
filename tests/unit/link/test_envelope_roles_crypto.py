"""Envelope and request tracking, role policy, key derivation and nonce construction."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.link.helpers import SECRET, FakeClock
from thecal.link import (
    PATIENT_OPERATIONS,
    Envelope,
    EnvelopeError,
    EnvelopeKind,
    PermissionDenied,
    RequestTracker,
    Role,
    decode_envelope,
    derive_role_key,
    permits,
    request,
    require_permitted,
    response,
)
from thecal.link.crypto import Direction, aead_nonce, derive_session_keys


def test_envelope_round_trip_and_layout() -> None:
    wire = request(5, b"body")
    assert wire == b"\x01" + (5).to_bytes(8, "big") + b"body"
    assert decode_envelope(wire) == Envelope(EnvelopeKind.REQUEST, 5, b"body")
    assert decode_envelope(response(5, b"")).kind is EnvelopeKind.RESPONSE


@pytest.mark.parametrize(
    "payload", [b"", b"\x01" + bytes(7), b"\x03" + bytes(8), b"\x01" + bytes(8)]
)
def test_envelope_strict(payload: bytes) -> None:
    with pytest.raises(EnvelopeError):
        decode_envelope(payload)


@given(st.binary(max_size=40))
def test_envelope_decoder_total(data: bytes) -> None:
    try:
        env = decode_envelope(data)
    except EnvelopeError:
        return
    assert env.encode() == data


def test_tracker_matches_and_reports_lost_acknowledgements() -> None:
    clock = FakeClock()
    tracker = RequestTracker(clock, ack_timeout_s=2.0)
    id1, wire1 = tracker.new_request(b"bolus")
    clock.advance(1.0)
    id2, _ = tracker.new_request(b"status")
    assert (id1, id2) == (1, 2) and decode_envelope(wire1).request_id == 1
    assert tracker.overdue() == []
    clock.advance(1.0)  # request 1 is now 2.0 s old: overdue; request 2 is 1.0 s old
    assert [p.request_id for p in tracker.overdue()] == [1]
    matched = tracker.match(decode_envelope(response(2, b"ok")))
    assert matched is not None and matched.body == b"status"
    assert tracker.match(decode_envelope(response(2, b"ok"))) is None  # duplicate answer
    assert tracker.match(decode_envelope(request(1, b""))) is None  # not a response
    tracker.forget(1)
    assert tracker.pending == ()


@pytest.mark.parametrize("op", ["status", "patient_bolus"])
def test_patient_allowed(op: str) -> None:
    assert permits(Role.PATIENT, op)
    require_permitted(Role.PATIENT, op)


@pytest.mark.parametrize(
    "op", ["program_write", "clinician_bolus", "refill_record", "clock_set", "", "STATUS"]
)
def test_patient_denied_everything_else(op: str) -> None:
    assert not permits(Role.PATIENT, op)
    with pytest.raises(PermissionDenied):
        require_permitted(Role.PATIENT, op)
    assert permits(Role.CLINICIAN, op)


def test_patient_operations_are_exactly_two() -> None:
    assert frozenset({"status", "patient_bolus"}) == PATIENT_OPERATIONS


def test_role_keys_are_distinct_per_role_and_device() -> None:
    keys = {derive_role_key(SECRET, serial, role) for serial in ("A-1", "A-2") for role in Role}
    assert len(keys) == 2 * len(Role)  # every (serial, role) pair its own key
    assert derive_role_key(SECRET, "A-1", Role.PATIENT) == derive_role_key(
        SECRET, "A-1", Role.PATIENT
    )


def test_session_keys_differ_per_direction_and_nonces() -> None:
    k = derive_role_key(SECRET, "A-1", Role.CLINICIAN)
    a = derive_session_keys(k, bytes(32), bytes(32), b"t")
    b = derive_session_keys(k, bytes(32), b"\x01" * 32, b"t")
    assert a.client_to_server != a.server_to_client
    assert a != b


def test_aead_nonce_layout_and_uniqueness() -> None:
    assert aead_nonce(Direction.SERVER_TO_CLIENT, 1) == b"\x02\x00\x00\x00" + (1).to_bytes(8, "big")
    nonces = {aead_nonce(d, s) for d in Direction for s in range(1000)}
    assert len(nonces) == 2000
