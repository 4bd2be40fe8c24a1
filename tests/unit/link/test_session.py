"""Handshake, AEAD sessions and every refusal the issue names, with state-unchanged checks."""

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.link.helpers import (
    OTHER_SECRET,
    SECRET,
    SERIAL,
    TIMEOUTS,
    FakeClock,
    established,
    make_link,
)
from thecal.link import (
    AuthBackoff,
    AuthenticationError,
    BackoffError,
    ErrorCode,
    FrameError,
    FrameType,
    LinkError,
    PeerError,
    PermissionDenied,
    ReplayError,
    Role,
    SessionError,
    SessionState,
    crypto,
    derive_role_key,
    parse_frame,
)
from thecal.link.frames import Frame, encode_header
from thecal.link.session import Session, encode_hello


def refused(
    session: Session, receive: Callable[[bytes], object], data: bytes, code: ErrorCode
) -> LinkError:
    """Deliver ``data``; assert it is refused with ``code`` and the session did not change."""
    before = session.snapshot()
    rejected = session.rejected_frames
    with pytest.raises(LinkError) as info:
        receive(data)
    assert info.value.code is code, info.value
    assert session.snapshot() == before
    assert session.rejected_frames == rejected + 1
    return info.value


def flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


# -- handshake ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_handshake_and_data_both_ways(role: Role) -> None:
    link = established(role)
    assert link.client.state is link.server.state is SessionState.ESTABLISHED
    assert link.server.role is role
    msg = link.server.open(link.client.seal(b"interrogate"))
    assert (msg.type, msg.sequence, msg.payload) == (FrameType.DATA, 2, b"interrogate")
    # Client numbered HELLO 0, RESPONSE 1, so its first DATA is 2; the server's CHALLENGE was 0.
    reply = link.client.open(link.server.seal(b"status"))
    assert (reply.sequence, reply.payload) == (1, b"status")
    assert link.backoff.failures("prog-1") == 0


def test_every_step_is_logged_with_the_serial() -> None:
    link = established()
    link.server.open(link.client.seal(b"x"))
    kinds = [(e.event, e.frame_type) for e in link.events]
    for expected in [
        ("send", FrameType.HELLO),
        ("receive", FrameType.HELLO),
        ("send", FrameType.CHALLENGE),
        ("receive", FrameType.CHALLENGE),
        ("send", FrameType.RESPONSE),
        ("receive", FrameType.RESPONSE),
        ("send", FrameType.DATA),
        ("receive", FrameType.DATA),
    ]:
        assert expected in kinds
    assert {e.serial for e in link.events} == {SERIAL}
    assert sum(e.event == "established" for e in link.events) == 2


def test_data_frames_are_encrypted() -> None:
    link = established()
    wire = link.client.seal(b"SECRET-PROGRAM" * 4)
    assert b"SECRET-PROGRAM" not in wire


# -- refusals inside a session -------------------------------------------------------------


def test_replayed_frame_refused() -> None:
    link = established()
    wire = link.client.seal(b"bolus")
    link.server.open(wire)
    refused(link.server, link.server.open, wire, ErrorCode.REPLAY)
    assert link.events[-1].event == "reject" and link.events[-1].code is ErrorCode.REPLAY


def test_reordered_frame_refused() -> None:
    link = established()
    first, second = link.client.seal(b"1"), link.client.seal(b"2")
    assert link.server.open(second).payload == b"2"
    refused(link.server, link.server.open, first, ErrorCode.REPLAY)


def test_gap_is_accepted_but_not_going_back() -> None:
    # A dropped frame must not wedge the session; only older-or-equal numbers are refused.
    link = established()
    link.client.seal(b"lost")
    assert link.server.open(link.client.seal(b"next")).sequence == 3


@pytest.mark.parametrize(
    "index", [6, 13, 14, -17, -1], ids=["seq-hi", "seq-lo", "payload", "tag-first", "tag-last"]
)
def test_tampered_frame_refused(index: int) -> None:
    link = established()
    wire = link.client.seal(b"program rate")
    tampered = flip(wire, index)
    # Lowering the sequence looks like a replay; anything else fails the AEAD tag.
    code = ErrorCode.REPLAY if parse_frame(tampered).sequence <= 1 else ErrorCode.BAD_TAG
    refused(link.server, link.server.open, tampered, code)
    assert link.server.open(wire).payload == b"program rate"  # the genuine one still works


def test_tampered_type_refused() -> None:
    link = established()
    wire = bytearray(link.client.seal(b"x"))
    wire[5] = FrameType.CLOSE  # would close the session if it were believed
    refused(link.server, link.server.open, bytes(wire), ErrorCode.BAD_TAG)
    assert link.server.state is SessionState.ESTABLISHED


def test_truncated_and_oversized_refused() -> None:
    link = established()
    wire = link.client.seal(b"x")
    refused(link.server, link.server.open, wire[:-1], ErrorCode.TRUNCATED)
    refused(link.server, link.server.open, wire + b"\x00", ErrorCode.TRAILING_BYTES)
    refused(link.server, link.server.open, bytes(70_000), ErrorCode.TOO_LARGE)


def test_frame_from_another_session_refused() -> None:
    a, b = established(), established()
    refused(b.server, b.server.open, a.client.seal(b"x"), ErrorCode.BAD_TAG)


def test_reflected_frame_refused() -> None:
    # The implant's own frame sent back to it: other direction, other key.
    link = established()
    link.server.seal(b"first")  # seq 1 would look like a replay of the RESPONSE (seq 1)
    refused(link.server, link.server.open, link.server.seal(b"second"), ErrorCode.BAD_TAG)


def test_handshake_frame_inside_session_refused() -> None:
    link = established()
    hello = make_link().client.hello()
    refused(link.server, link.server.open, hello, ErrorCode.UNEXPECTED_TYPE)


def test_open_before_established_refused() -> None:
    link = make_link()
    with pytest.raises(SessionError) as info:
        link.server.open(b"")
    assert info.value.code is ErrorCode.WRONG_STATE
    with pytest.raises(SessionError):
        link.client.seal(b"x")


# -- refusals during the handshake ---------------------------------------------------------


def test_wrong_key_refused_and_backs_off() -> None:
    wrong = derive_role_key(OTHER_SECRET, SERIAL, Role.CLINICIAN)
    link = make_link(client_key=wrong)
    err = refused(link.server, link.server.receive_hello, link.client.hello(), ErrorCode.BAD_TAG)
    assert isinstance(err, AuthenticationError)
    assert link.server.state is SessionState.IDLE
    assert link.server.auth_failures == 1
    assert link.backoff.failures("prog-1") == 1


def test_patient_key_cannot_claim_clinician_role() -> None:
    patient_key = derive_role_key(SECRET, SERIAL, Role.PATIENT)
    link = make_link(Role.CLINICIAN, client_key=patient_key)
    refused(link.server, link.server.receive_hello, link.client.hello(), ErrorCode.BAD_TAG)
    assert link.server.role is None


def test_role_byte_rewritten_in_flight_refused() -> None:
    link = make_link(Role.PATIENT)
    hello = bytearray(link.client.hello())
    hello[14] = Role.CLINICIAN  # first payload byte is the role
    refused(link.server, link.server.receive_hello, bytes(hello), ErrorCode.BAD_TAG)


def test_unknown_role_and_wrong_device_refused() -> None:
    link = make_link()
    key = derive_role_key(SECRET, SERIAL, Role.CLINICIAN)
    payload = bytes([9]) + encode_hello(Role.CLINICIAN, bytes(32), SERIAL)[1:]
    header = encode_header(FrameType.HELLO, 0, len(payload))
    wire = Frame(FrameType.HELLO, 0, payload, crypto.handshake_tag(key, header, payload)).encode()
    refused(link.server, link.server.receive_hello, wire, ErrorCode.UNKNOWN_ROLE)
    other = make_link(client_serial="TH-9999")
    refused(other.server, other.server.receive_hello, other.client.hello(), ErrorCode.WRONG_DEVICE)
    assert link.backoff.failures("prog-1") == other.backoff.failures("prog-1") == 1


def test_forged_challenge_refused_by_programmer() -> None:
    # An impostor implant that does not know the secret cannot prove itself.
    link = make_link()
    link.client.hello()
    # Build the impostor's CHALLENGE by hand with the wrong key: tag and proof both wrong.
    wrong = derive_role_key(OTHER_SECRET, SERIAL, Role.CLINICIAN)
    payload = bytes(32) + crypto.proof(wrong, crypto.LABEL_SERVER_PROOF, b"")
    header = encode_header(FrameType.CHALLENGE, 0, len(payload))
    wire = Frame(
        FrameType.CHALLENGE, 0, payload, crypto.handshake_tag(wrong, header, payload)
    ).encode()
    refused(link.client, link.client.receive_challenge, wire, ErrorCode.BAD_TAG)
    # With the right tag key but a proof over the wrong transcript: BAD_PROOF.
    right = derive_role_key(SECRET, SERIAL, Role.CLINICIAN)
    wire = Frame(
        FrameType.CHALLENGE, 0, payload, crypto.handshake_tag(right, header, payload)
    ).encode()
    refused(link.client, link.client.receive_challenge, wire, ErrorCode.BAD_PROOF)
    assert link.client.state is SessionState.AWAIT_CHALLENGE


def test_bad_client_proof_refused() -> None:
    link = make_link()
    link.server.receive_hello(link.client.hello())
    key = derive_role_key(SECRET, SERIAL, Role.CLINICIAN)
    payload = bytes(32)
    header = encode_header(FrameType.RESPONSE, 1, len(payload))
    wire = Frame(FrameType.RESPONSE, 1, payload, crypto.handshake_tag(key, header, payload))
    refused(link.server, link.server.receive_response, wire.encode(), ErrorCode.BAD_PROOF)
    assert link.server.state is SessionState.AWAIT_RESPONSE
    assert link.backoff.failures("prog-1") == 1


def test_replayed_handshake_cannot_be_completed() -> None:
    # Record a whole genuine handshake, replay it to a fresh implant session.
    link = make_link()
    hello = link.client.hello()
    response = link.client.receive_challenge(link.server.receive_hello(hello))
    fresh = make_link()
    fresh.server.receive_hello(hello)  # a HELLO carries no freshness of its own ...
    # ... but the RESPONSE proves the *old* server nonce, so it fails here.
    refused(fresh.server, fresh.server.receive_response, response, ErrorCode.BAD_PROOF)


def test_peer_error_during_handshake_is_advice_only() -> None:
    link = make_link()
    link.client.hello()
    error = link.server.error_frame(ErrorCode.BACKOFF, retry_after_s=4.0)
    before = link.client.snapshot()
    with pytest.raises(PeerError) as info:
        link.client.receive_challenge(error)
    assert info.value.code is ErrorCode.BACKOFF and info.value.retry_after_s == 4.0
    assert link.client.snapshot() == before


# -- roles ---------------------------------------------------------------------------------


def test_patient_session_limited_to_status_and_bolus() -> None:
    link = established(Role.PATIENT)
    assert link.server.authorize("status") is Role.PATIENT
    assert link.server.authorize("patient_bolus") is Role.PATIENT
    with pytest.raises(PermissionDenied) as info:
        link.server.authorize("program_write")
    assert info.value.code is ErrorCode.FORBIDDEN
    assert link.events[-1].event == "denied"
    assert established(Role.CLINICIAN).server.authorize("program_write") is Role.CLINICIAN


# -- timeouts ------------------------------------------------------------------------------


def test_idle_timeout_closes_session() -> None:
    link = established()
    wire = link.client.seal(b"late")
    link.clock.advance(TIMEOUTS.idle_s)  # exactly the idle limit: expired
    with pytest.raises(SessionError) as info:
        link.server.open(wire)
    assert info.value.code is ErrorCode.EXPIRED
    assert link.server.state is SessionState.CLOSED
    assert any(e.event == "timeout" for e in link.events)


def test_activity_keeps_session_until_absolute_timeout() -> None:
    link = established()
    # 19 exchanges 30 s apart = 570 s < 600 s absolute; each resets the 60 s idle timer.
    for _ in range(19):
        link.clock.advance(30.0)
        link.server.open(link.client.seal(b"ping"))
        link.client.open(link.server.seal(b"pong"))
    link.clock.advance(30.0)  # 600 s since establishment
    with pytest.raises(SessionError) as info:
        link.server.open(link.client.seal(b"ping"))
    assert info.value.code is ErrorCode.EXPIRED


def test_handshake_timeout() -> None:
    link = make_link()
    response = link.client.receive_challenge(link.server.receive_hello(link.client.hello()))
    link.clock.advance(TIMEOUTS.handshake_s)  # the RESPONSE arrives exactly at the limit
    with pytest.raises(SessionError) as info:
        link.server.receive_response(response)
    assert info.value.code is ErrorCode.EXPIRED
    assert link.server.state is SessionState.CLOSED


# -- back-off ------------------------------------------------------------------------------


def test_backoff_grows_exponentially_and_caps() -> None:
    clock = FakeClock()
    backoff = AuthBackoff(clock, base_s=1.0, max_s=60.0, max_peers=1024)
    # 1, 2, 4, 8, 16, 32, then capped at 60
    assert [backoff.record_failure("p") for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    with pytest.raises(BackoffError) as info:
        backoff.check("p")
    assert info.value.retry_after_s == 60.0
    backoff.check("other")  # state is per peer
    clock.advance(60.0)
    backoff.check("p")
    backoff.record_success("p")
    assert backoff.failures("p") == 0


def test_backoff_table_is_bounded() -> None:
    backoff = AuthBackoff(FakeClock(), base_s=1.0, max_s=2.0, max_peers=3)
    for peer in "abcd":
        backoff.record_failure(peer)
    assert backoff.failures("a") == 0 and backoff.failures("d") == 1


def test_responder_refuses_even_genuine_hello_while_backing_off() -> None:
    clock = FakeClock()
    backoff = AuthBackoff(clock, base_s=1.0, max_s=60.0, max_peers=1024)
    wrong = derive_role_key(OTHER_SECRET, SERIAL, Role.CLINICIAN)
    for _ in range(3):
        bad = make_link(client_key=wrong, clock=clock, backoff=backoff)
        with pytest.raises(AuthenticationError):
            bad.server.receive_hello(bad.client.hello())
        clock.advance(backoff.retry_after_s("prog-1"))
    bad = make_link(client_key=wrong, clock=clock, backoff=backoff)
    with pytest.raises(AuthenticationError):
        bad.server.receive_hello(bad.client.hello())
    assert backoff.retry_after_s("prog-1") == 8.0  # 4th failure: 1 * 2**3
    good = make_link(clock=clock, backoff=backoff)
    refused(good.server, good.server.receive_hello, good.client.hello(), ErrorCode.BACKOFF)
    clock.advance(8.0)
    good = make_link(clock=clock, backoff=backoff)
    good.handshake()
    assert backoff.failures("prog-1") == 0


# -- close, errors, sequence exhaustion ----------------------------------------------------


def test_close_frame_closes_both_ends() -> None:
    link = established()
    msg = link.server.open(link.client.close_frame())
    assert msg.type is FrameType.CLOSE
    assert link.client.state is link.server.state is SessionState.CLOSED
    with pytest.raises(SessionError):
        link.server.seal(b"x")


def test_error_inside_session_is_authenticated() -> None:
    link = established()
    msg = link.client.open(link.server.error_frame(ErrorCode.FORBIDDEN, "patient"))
    assert msg.error().code is ErrorCode.FORBIDDEN and msg.error().detail == "patient"


def test_sequence_exhaustion_refuses_to_send() -> None:
    link = established()
    link.client._next_send = 2**64  # 2**64 frames: not otherwise testable
    with pytest.raises(SessionError) as info:
        link.client.seal(b"x")
    assert info.value.code is ErrorCode.SEQUENCE_EXHAUSTED


# -- property: no mutation of an authenticated frame is ever accepted ----------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=48), st.data())
def test_mutated_authenticated_frames_never_accepted(payload: bytes, data: st.DataObject) -> None:
    link = established()
    wire = bytearray(link.client.seal(payload))
    original = bytes(wire)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "cut":
            del wire[data.draw(st.integers(0, len(wire) - 1))]
        elif op == "insert":
            wire.insert(data.draw(st.integers(0, len(wire))), data.draw(st.integers(0, 255)))
        else:
            i = data.draw(st.integers(0, len(wire) - 1))
            wire[i] ^= 1 << data.draw(st.integers(0, 7))
    if bytes(wire) == original:
        return
    before = link.server.snapshot()
    with pytest.raises((FrameError, AuthenticationError, ReplayError, SessionError)):
        link.server.open(bytes(wire))
    assert link.server.snapshot() == before
    assert link.server.open(original).payload == payload
