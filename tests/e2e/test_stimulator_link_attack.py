"""Attacks on a virtual IPG served on real TCP (127.0.0.1): a replayed frame, a reordered
(stale) sequence counter, a bit-flipped MAC, a truncated, oversized or garbage frame, a
wrong key, the patient remote trying the clinician's operations or going beyond the
clinician's bounds, a stale command and a commit naming another digest.

Each asserts the refusal code the attacker gets back AND that the IPG did not change: its
groups, running group, amplitudes, therapy state, event log and the handler's executions.

Test inputs: the rechargeable test IPG (tests.unit.programmer.stim_helpers): groups A
(running) and B, area 'back' at 3 mA, the patient's range 2 to 4 mA; short connection limits
(tests.e2e.attack.TEST_LIMITS)."""

import socket
import struct
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.attack import ServedIpg, served_stimulator
from tests.unit.implant.stimulator.helpers import program
from thecal.devices.refusals import DeviceRefusal
from thecal.link import ErrorCode, Initiator, Role, TransportClosed, derive_role_key
from thecal.link.envelope import decode_envelope
from thecal.link.frames import FrameType
from thecal.link.transport import TcpTransport
from thecal.programmer.commands import (
    Command,
    Op,
    RefusalCode,
    Reply,
    ReplyStatus,
    decode_reply,
    program_digest,
)
from thecal.programmer.link_client import LinkClient, LinkRefused, new_command_id
from thecal.programmer.wire_stim_program import stim_program_to_json

WAIT_S = 10.0  # a hang guard for a reply on a busy machine, not a speed check


@pytest.fixture
def sv() -> Iterator[ServedIpg]:
    with served_stimulator() as served:
        yield served


def _transport(port: int, host: str) -> TcpTransport:
    """A TCP connection to the implant from loopback address ``host``."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(WAIT_S)
    s.bind((host, 0))
    s.connect(("127.0.0.1", port))
    return TcpTransport(s)


def _connect(
    sv: ServedIpg,
    role: Role = Role.CLINICIAN,
    *,
    key: bytes | None = None,
    host: str = "127.0.0.1",
) -> LinkClient:
    """A handshaken client for ``role`` (its own key unless ``key``), from ``host``."""
    serial = sv.dev.serial
    client = LinkClient(
        _transport(sv.port, host),
        Initiator(serial, role, key or derive_role_key(sv.secret, serial, role), time.monotonic),
        time.monotonic,
        ack_timeout_s=WAIT_S,
    )
    client.connect(WAIT_S)
    return client


def _state(sv: ServedIpg) -> tuple[Any, ...]:
    """Everything an attack must not change (read under the server's device lock)."""
    with sv.server.lock:
        s = sv.dev.interrogate()
        return (
            dict(sv.dev.firmware.groups),
            s.group,
            s.amplitudes,
            s.therapy,
            s.last_seq,
            tuple(e.seq for e in sv.dev.events(0)),
            dict(sv.server.handler.executions),
            len(sv.server.handler.journal()),
        )


def _amp(sv: ServedIpg) -> float:
    with sv.server.lock:
        return float(dict(sv.dev.interrogate().amplitudes)["back"].to("mA").magnitude)


def _sealed(client: LinkClient, op: Op, args: dict[str, Any], **cmd: Any) -> bytes:
    """The frame ``client`` would send for ``op`` (sealed in its session, not sent)."""
    issued = cmd.get("issued_at", client.device_time())
    command = Command(op, new_command_id(), issued, args)
    _, wire = client.tracker.new_request(command.encode())
    return client.initiator.seal(wire)


def _next(client: LinkClient) -> Any:
    """The next session message from the implant (opened: its tag is genuine)."""
    return client.initiator.open(client.transport.receive(WAIT_S))


def _link_error(client: LinkClient) -> ErrorCode:
    msg = _next(client)
    assert msg.type is FrameType.ERROR
    code: ErrorCode = msg.error().code
    return code


def _reply(client: LinkClient) -> Reply:
    msg = _next(client)
    assert msg.type is FrameType.DATA
    return decode_reply(decode_envelope(msg.payload).body)


def _mA(value: float) -> dict[str, Any]:
    return {"area": "back", "amplitude": {"value": value, "unit": "mA"}}


def _closed(client: LinkClient) -> bool:
    try:
        client.transport.receive(WAIT_S)
    except TransportClosed:
        return True
    return False


# -- the frame: replayed, reordered, forged, truncated, oversized, garbage ----------------------


def test_a_replayed_amplitude_frame_is_refused_and_changes_nothing(sv: ServedIpg) -> None:
    client = _connect(sv)
    try:
        up = _sealed(client, Op.SET_AMPLITUDE, _mA(3.5))
        client.transport.send(up)
        assert _reply(client).state_changed
        assert client.call(Op.SET_AMPLITUDE, _mA(2.5)).state_changed
        before = _state(sv)
        client.transport.send(up)  # the captured 3.5 mA frame, again, in its own session
        assert _link_error(client) is ErrorCode.REPLAY
        assert _state(sv) == before and _amp(sv) == pytest.approx(2.5)
        assert client.call(Op.CLOCK_READ).ok  # the session itself goes on
    finally:
        client.close()
    # Replayed into a new session (new keys, sequence restarts): not genuine there.
    other = _connect(sv)
    try:
        other.transport.send(up)
        assert _link_error(other) is ErrorCode.BAD_TAG
        assert _state(sv) == before
    finally:
        other.close()


def test_a_stale_sequence_counter_is_refused_and_its_command_never_runs(sv: ServedIpg) -> None:
    client = _connect(sv)
    try:
        early = _sealed(client, Op.STIMULATION, {"on": False})  # sequence n, held back
        late = _sealed(client, Op.SET_AMPLITUDE, _mA(3.5))  # sequence n + 1
        client.transport.send(late)
        assert _reply(client).state_changed
        before = _state(sv)
        client.transport.send(early)  # n <= n + 1 already accepted
        assert _link_error(client) is ErrorCode.REPLAY
        assert _state(sv) == before
        assert sv.dev.interrogate().stimulating
    finally:
        client.close()


@pytest.mark.parametrize(
    ("where", "offset"),
    [("tag", -1), ("tag", -16), ("body", 14), ("header sequence", 6)],
)
def test_a_bit_flipped_frame_is_refused_and_the_genuine_one_still_runs(
    sv: ServedIpg, where: str, offset: int
) -> None:
    client = _connect(sv)
    try:
        frame = _sealed(client, Op.STIMULATION, {"on": False})
        forged = bytearray(frame)
        forged[offset] ^= 0x01  # one bit of the tag, the ciphertext or the authenticated header
        before = _state(sv)
        client.transport.send(bytes(forged))
        assert _link_error(client) is ErrorCode.BAD_TAG, where
        assert _state(sv) == before and sv.dev.interrogate().stimulating
        # The refused frame moved no counter: the genuine frame is accepted after it.
        client.transport.send(frame)
        assert _reply(client).state_changed and not sv.dev.interrogate().stimulating
    finally:
        client.close()


def test_a_truncated_frame_with_a_fixed_length_fails_its_tag(sv: ServedIpg) -> None:
    client = _connect(sv)
    try:
        frame = _sealed(client, Op.SET_AMPLITUDE, _mA(3.5))
        cut = frame[:-4]  # the last 4 bytes of the tag gone, the length field made to agree
        cut = struct.pack(">I", len(cut) - 4) + cut[4:]
        before = _state(sv)
        client.transport.send(cut)
        assert _link_error(client) is ErrorCode.BAD_TAG
        assert _state(sv) == before and _amp(sv) == pytest.approx(3.0)
    finally:
        client.close()


def test_a_frame_cut_short_on_the_wire_is_closed_without_effect(sv: ServedIpg) -> None:
    client = _connect(sv)
    try:
        frame = _sealed(client, Op.SET_AMPLITUDE, _mA(3.5))
        before = _state(sv)
        client.transport.send(frame[: len(frame) // 2])  # the rest never comes
        # Not a whole frame within frame_s (0.5 s): the implant closes the connection.
        assert _closed(client)
        assert _state(sv) == before
    finally:
        client.close()


@pytest.mark.parametrize(
    "raw",
    [
        struct.pack(">I", 0xFFFFFFFF),  # announces 4 GiB: refused before buffering
        struct.pack(">I", 3) + bytes(40),  # announces less than a header and a tag
    ],
    ids=["oversized", "undersized"],
)
def test_an_impossible_length_ends_the_connection_without_effect(sv: ServedIpg, raw: bytes) -> None:
    client = _connect(sv)
    try:
        before = _state(sv)
        client.transport.send(raw)
        assert _closed(client)  # a stream that cannot be resynchronised is closed
        assert _state(sv) == before
    finally:
        client.close()
    again = _connect(sv)  # the implant still serves the clinician
    try:
        assert again.call(Op.CLOCK_READ).ok
    finally:
        again.close()


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ((9, int(FrameType.DATA)), ErrorCode.BAD_VERSION),
        ((1, 0x77), ErrorCode.UNKNOWN_TYPE),
        ((1, int(FrameType.DATA)), ErrorCode.BAD_TAG),  # well formed, random body and tag
        ((1, int(FrameType.HELLO)), ErrorCode.UNEXPECTED_TYPE),  # a handshake frame in session
    ],
)
def test_a_garbage_frame_is_refused_with_its_code(
    sv: ServedIpg, header: tuple[int, int], code: ErrorCode
) -> None:
    client = _connect(sv)
    try:
        body = bytes((i * 37 + 11) % 256 for i in range(64))  # garbage, deterministic
        version, frame_type = header
        garbage = struct.pack(">IBBQ", 10 + len(body), version, frame_type, 2**40) + body
        before = _state(sv)
        client.transport.send(garbage)
        assert _link_error(client) is code
        assert _state(sv) == before
        assert client.call(Op.CLOCK_READ).ok  # nothing was committed: the session goes on
    finally:
        client.close()


# -- keys and roles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "key_of"),
    [
        (Role.CLINICIAN, "another implant"),
        (Role.CLINICIAN, "remote"),  # the remote's key claiming the clinician role
        (Role.REMOTE, "another implant"),
    ],
)
def test_a_wrong_key_is_refused_at_the_handshake(sv: ServedIpg, role: Role, key_of: str) -> None:
    serial = sv.dev.serial
    key = (
        derive_role_key(bytes(32), serial, role)
        if key_of == "another implant"
        else derive_role_key(sv.secret, serial, Role.REMOTE)
    )
    before = _state(sv)
    # From another loopback address: its back-off must not hold up the clinician below.
    with pytest.raises(LinkRefused) as refused:
        _connect(sv, role, key=key, host="127.0.0.3")
    assert refused.value.code is ErrorCode.BAD_TAG
    assert _state(sv) == before
    assert sv.server.backoff.failures("127.0.0.3:1") == 1
    clinician = _connect(sv)
    try:
        assert clinician.call(Op.CLOCK_READ).ok
    finally:
        clinician.close()


def test_the_remote_may_not_use_a_clinician_operation(sv: ServedIpg) -> None:
    """docs/programmer.md §8: the remote may use status, set_amplitude, select_group and
    stimulation only."""
    staged = program(2.5, patient_max=3.0)
    denied: list[tuple[Op, dict[str, Any]]] = [
        (Op.GROUP_STAGE, {"group": "C", "program": stim_program_to_json(staged)}),
        (Op.GROUP_READ_STAGED, {}),
        (Op.GROUP_COMMIT, {"digest": "0" * 64}),
        (Op.IMPEDANCE_TEST, {}),
        (Op.MRI_MODE, {"on": True}),
        (Op.INTERROGATE, {}),
        (Op.CLOCK_SET, {"device_time": "2030-01-01T00:00:00"}),
        (Op.ACKNOWLEDGE_ALARM, {}),
        (Op.ALARM_TEST, {}),
        (Op.PATIENT_BOLUS, {}),
    ]
    remote = _connect(sv, Role.REMOTE)
    try:
        before = _state(sv)
        for op, args in denied:
            reply = remote.call(op, args)
            assert reply.status is ReplyStatus.REFUSED, op
            assert reply.code == RefusalCode.FORBIDDEN.value, op
        assert _state(sv) == before and sv.server.handler.executions == {}
    finally:
        remote.close()


def test_the_remote_is_held_to_the_clinicians_bounds(sv: ServedIpg) -> None:
    remote = _connect(sv, Role.REMOTE)
    try:
        before = _state(sv)
        # The clinician's range for 'back' is 2 to 4 mA, both ends allowed.
        for over in (4.01, 4.5, 1.99, 0.0):
            reply = remote.call(Op.SET_AMPLITUDE, _mA(over))
            assert reply.code == DeviceRefusal.OUTSIDE_PATIENT_RANGE.value, over
            assert not reply.state_changed
        # Only a group the clinician wrote (A and B exist).
        reply = remote.call(Op.SELECT_GROUP, {"group": "Z"})
        assert reply.code == DeviceRefusal.UNKNOWN_GROUP.value and not reply.state_changed
        refused = _state(sv)
        # The refusals logged nothing the program depends on: groups, amplitude, therapy.
        assert refused[:4] == before[:4]
        assert remote.call(Op.SET_AMPLITUDE, _mA(4.0)).state_changed  # the top itself
        assert _amp(sv) == pytest.approx(4.0)
    finally:
        remote.close()


def test_the_remote_cannot_undo_the_clinicians_off(sv: ServedIpg) -> None:
    clinician = _connect(sv)
    try:
        assert clinician.call(Op.STIMULATION, {"on": False}).state_changed
    finally:
        clinician.close()
    remote = _connect(sv, Role.REMOTE)
    try:
        before = _state(sv)
        reply = remote.call(Op.STIMULATION, {"on": True})
        assert reply.code == DeviceRefusal.NOT_DELIVERING.value and not reply.state_changed
        assert _state(sv)[:4] == before[:4] and not sv.dev.interrogate().stimulating
    finally:
        remote.close()


# -- commands: stale, mismatched digest ------------------------------------------------------


@pytest.mark.parametrize("skew", [timedelta(hours=-2), timedelta(hours=2)])
def test_a_stale_command_is_refused_and_changes_nothing(sv: ServedIpg, skew: timedelta) -> None:
    client = _connect(sv)
    try:
        issued = client.device_time()
        assert issued is not None
        before = _state(sv)
        # 2 h from the implant's clock, either way, against a 60 s bound (test input).
        client.transport.send(_sealed(client, Op.SET_AMPLITUDE, _mA(3.5), issued_at=issued + skew))
        reply = _reply(client)
        assert reply.status is ReplyStatus.REFUSED and reply.code == RefusalCode.STALE.value
        assert _state(sv) == before and _amp(sv) == pytest.approx(3.0)
    finally:
        client.close()


def test_a_commit_naming_another_digest_writes_nothing(sv: ServedIpg) -> None:
    meant = {"group": "C", "program": stim_program_to_json(program(2.5, patient_max=3.0))}
    other = {"group": "C", "program": stim_program_to_json(program(3.5, patient_max=4.0))}
    client = _connect(sv)
    try:
        staged = client.call(Op.GROUP_STAGE, meant)
        assert staged.ok and staged.data["digest"] == program_digest(meant)
        before = _state(sv)
        for digest in (program_digest(other), "0" * 64, staged.data["digest"][:-1] + "0"):
            if digest == staged.data["digest"]:
                continue
            reply = client.call(Op.GROUP_COMMIT, {"digest": digest})
            assert reply.code == RefusalCode.STAGED_MISMATCH.value
        assert _state(sv)[:6] == before[:6] and "C" not in sv.dev.firmware.groups
        # The staged copy is intact: the remote cannot commit it, the clinician can.
        remote = _connect(sv, Role.REMOTE)
        try:
            reply = remote.call(Op.GROUP_COMMIT, {"digest": staged.data["digest"]})
            assert reply.code == RefusalCode.FORBIDDEN.value
        finally:
            remote.close()
        assert "C" not in sv.dev.firmware.groups
        assert client.call(Op.GROUP_COMMIT, {"digest": staged.data["digest"]}).state_changed
        assert "C" in sv.dev.firmware.groups
    finally:
        client.close()


def test_a_digest_staged_in_another_session_is_not_committed(sv: ServedIpg) -> None:
    doc = {"group": "C", "program": stim_program_to_json(program(2.5, patient_max=3.0))}
    first = _connect(sv)
    try:
        digest = first.call(Op.GROUP_STAGE, doc).data["digest"]
        second = _connect(sv)
        try:
            before = _state(sv)
            reply = second.call(Op.GROUP_COMMIT, {"digest": digest})
            assert reply.code == RefusalCode.STAGED_MISMATCH.value
            assert _state(sv)[:6] == before[:6] and "C" not in sv.dev.firmware.groups
        finally:
            second.close()
    finally:
        first.close()
