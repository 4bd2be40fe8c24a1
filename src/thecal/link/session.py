"""Sessions: mutual challenge–response handshake, per-direction AEAD, sequence rules, timeouts.

Sans-I/O: sessions turn received bytes into messages and messages into bytes to send; the
caller moves the bytes (:mod:`thecal.link.transport`). Time comes from an injected ``now``
callable (monotonic seconds), randomness from ``random_bytes``; nothing here reads a clock.

Handshake (``docs/link-protocol.md`` §7)::

    client → HELLO      role | client nonce | serial            tag = HMAC(role key)
    server → CHALLENGE  server nonce | server proof             tag = HMAC(role key)
    client → RESPONSE   client proof                            tag = HMAC(role key)
    then DATA / ERROR / CLOSE, AES-256-GCM, one key per direction, header as associated data.

A rejected frame raises a :class:`~thecal.link.errors.LinkError` subclass and leaves the
session exactly as it was (see :meth:`Session.snapshot`), except the rejection counters, the
log, and the per-peer failure count of :class:`AuthBackoff`. Only time can change the state
without a genuine frame: an expired session closes itself.
"""

import secrets
import struct
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from thecal.link import crypto
from thecal.link.admission import peer_address
from thecal.link.crypto import AeadKey, Direction, RandomBytes
from thecal.link.errors import (
    AuthenticationError,
    BackoffError,
    ErrorCode,
    FrameError,
    LinkError,
    PeerError,
    ReplayError,
    SessionError,
)
from thecal.link.frames import (
    MAX_SEQUENCE,
    SESSION_TYPES,
    ZERO_TAG,
    ErrorInfo,
    Frame,
    FrameType,
    decode_error,
    encode_error,
    encode_header,
    parse_frame,
)
from thecal.link.roles import Role, require_permitted

Clock = Callable[[], float]
"""Monotonic seconds; injected so that tests (and the simulator) control time."""


@dataclass(frozen=True)
class LinkTimeouts:
    """Session time limits in seconds (protocol v1 values, ``docs/link-protocol.md`` §9)."""

    handshake_s: float = 10.0
    idle_s: float = 120.0
    absolute_s: float = 1800.0

    def __post_init__(self) -> None:
        if min(self.handshake_s, self.idle_s, self.absolute_s) <= 0:
            raise ValueError("timeouts must be positive")


@dataclass(frozen=True)
class LinkEvent:
    """One log record: every send, receive, rejection, handshake step, timeout and close."""

    at: float
    serial: str
    peer: str
    event: str  # send | receive | reject | established | timeout | close | peer-error | denied
    frame_type: FrameType | None = None
    sequence: int | None = None
    size: int = 0
    code: ErrorCode | None = None
    detail: str = ""

    def describe(self) -> str:
        """One log line, the same on the implant and the programmer side."""
        return (
            f"serial={self.serial} peer={self.peer} link {self.event} "
            f"type={self.frame_type.name if self.frame_type else '-'} seq={self.sequence} "
            f"size={self.size} code={self.code.name if self.code else '-'} {self.detail}"
        )


LinkLogger = Callable[[LinkEvent], None]


def _no_log(_event: LinkEvent) -> None:
    return None


class AuthBackoff:
    """Exponential back-off after failed authentications, kept per peer address (implant side).

    Peers are keyed by address (:func:`~thecal.link.admission.peer_address`: the host of
    ``host:port``), not by connection: every new connection has a new source port, and keying
    by it would let each one escape the back-off. After ``n`` consecutive failures a peer
    address may not try again until ``min(base_s * 2**(n-1),
    max_s)`` seconds after the last failure. Success clears the peer. At most ``max_peers``
    peers are tracked (least recently failed forgotten first) so the table cannot grow without
    bound.
    """

    def __init__(
        self, now: Clock, base_s: float = 1.0, max_s: float = 300.0, max_peers: int = 1024
    ) -> None:
        if base_s <= 0 or max_s < base_s or max_peers < 1:
            raise ValueError("need 0 < base_s <= max_s and max_peers >= 1")
        self._now = now
        self.base_s = base_s
        self.max_s = max_s
        self.max_peers = max_peers
        self._peers: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def failures(self, peer: str) -> int:
        """Consecutive failures recorded for ``peer``'s address."""
        return self._peers.get(peer_address(peer), (0, 0.0))[0]

    def delay_s(self, failures: int) -> float:
        """Wait after ``failures`` consecutive failures, in seconds (0 for none)."""
        if failures <= 0:
            return 0.0
        # Cap the exponent too: 2**n for a huge n would be a needless big integer.
        return min(self.base_s * 2.0 ** min(failures - 1, 64), self.max_s)

    def retry_after_s(self, peer: str) -> float:
        """Seconds ``peer`` must still wait (0 if it may try now)."""
        count, last = self._peers.get(peer_address(peer), (0, 0.0))
        return max(0.0, last + self.delay_s(count) - self._now())

    def check(self, peer: str) -> None:
        """Raise :class:`BackoffError` if ``peer`` is still waiting."""
        wait = self.retry_after_s(peer)
        if wait > 0:
            raise BackoffError(wait)

    def record_failure(self, peer: str) -> float:
        """Count one failure; return the new wait in seconds."""
        count = self.failures(peer) + 1
        address = peer_address(peer)
        self._peers[address] = (count, self._now())
        self._peers.move_to_end(address)
        while len(self._peers) > self.max_peers:
            self._peers.popitem(last=False)
        return self.delay_s(count)

    def record_success(self, peer: str) -> None:
        """Forget the failures of ``peer``'s address."""
        self._peers.pop(peer_address(peer), None)


class SessionState(Enum):
    """Where a session is in its life."""

    IDLE = "idle"
    AWAIT_CHALLENGE = "await-challenge"
    AWAIT_RESPONSE = "await-response"
    ESTABLISHED = "established"
    CLOSED = "closed"


@dataclass(frozen=True)
class SessionSnapshot:
    """Everything that decides how the next frame is treated (rejections must not change it)."""

    state: SessionState
    role: Role | None
    next_send_sequence: int
    last_receive_sequence: int
    handshake_started_at: float | None
    established_at: float | None
    last_receive_at: float | None


@dataclass(frozen=True)
class Message:
    """An authenticated, decrypted frame."""

    type: FrameType
    sequence: int
    payload: bytes

    def error(self) -> ErrorInfo:
        """Decode the payload of an ERROR message."""
        if self.type is not FrameType.ERROR:
            raise SessionError(ErrorCode.UNEXPECTED_TYPE, f"{self.type.name} is not ERROR")
        return decode_error(self.payload)


# Handshake payloads (fixed layouts, parsed strictly).
_HELLO_FIXED = 1 + crypto.HANDSHAKE_NONCE_LEN + 1  # role | client nonce | serial length
_CHALLENGE_LEN = crypto.HANDSHAKE_NONCE_LEN + crypto.PROOF_LEN
_RESPONSE_LEN = crypto.PROOF_LEN


def encode_hello(role: Role, client_nonce: bytes, serial: str) -> bytes:
    """HELLO payload: role u8 | client nonce (32) | serial length u8 | serial (UTF-8)."""
    raw = crypto.encode_serial(serial)
    return struct.pack(">B", int(role)) + client_nonce + struct.pack(">B", len(raw)) + raw


def decode_hello(payload: bytes) -> tuple[int, bytes, str]:
    """Split a HELLO payload into (role byte, client nonce, serial); strict lengths."""
    if len(payload) < _HELLO_FIXED + 1:
        raise FrameError(ErrorCode.BAD_PAYLOAD, "HELLO payload too short")
    role_byte = payload[0]
    nonce = payload[1 : 1 + crypto.HANDSHAKE_NONCE_LEN]
    serial_len = payload[_HELLO_FIXED - 1]
    raw = payload[_HELLO_FIXED:]
    if not 1 <= serial_len <= crypto.MAX_SERIAL_LEN or len(raw) != serial_len:
        raise FrameError(ErrorCode.BAD_PAYLOAD, "HELLO serial length does not match")
    try:
        serial = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(ErrorCode.BAD_PAYLOAD, "HELLO serial is not UTF-8") from None
    return role_byte, nonce, serial


class Session:
    """State shared by both ends: sequence numbers, keys, timeouts, logging, rejections."""

    def __init__(
        self,
        serial: str,
        now: Clock,
        *,
        timeouts: LinkTimeouts | None = None,
        logger: LinkLogger = _no_log,
        peer: str = "",
        random_bytes: RandomBytes = secrets.token_bytes,
    ) -> None:
        crypto.encode_serial(serial)  # validate early
        self.serial = serial
        self.peer = peer
        self.timeouts = timeouts or LinkTimeouts()
        self._now = now
        self._logger = logger
        self._random = random_bytes
        self._state = SessionState.IDLE
        self._role: Role | None = None
        self._send_key: AeadKey | None = None
        self._recv_key: AeadKey | None = None
        self._next_send = 0
        self._last_recv = -1
        self._handshake_started_at: float | None = None
        self._established_at: float | None = None
        self._last_receive_at: float | None = None
        self.rejected_frames = 0
        """Frames refused by this session (counter; not part of the snapshot)."""
        self.auth_failures = 0
        """Frames or proofs that failed authentication (counter; not part of the snapshot)."""

    # -- introspection -------------------------------------------------------------------
    @property
    def state(self) -> SessionState:
        """Current state."""
        return self._state

    @property
    def role(self) -> Role | None:
        """Role bound into the handshake (None before the handshake has started)."""
        return self._role

    @property
    def established(self) -> bool:
        """Whether DATA may flow now (does not check timeouts; :meth:`seal` and :meth:`open` do)."""
        return self._state is SessionState.ESTABLISHED

    def snapshot(self) -> SessionSnapshot:
        """Immutable copy of the state that decides how the next frame is treated."""
        return SessionSnapshot(
            self._state,
            self._role,
            self._next_send,
            self._last_recv,
            self._handshake_started_at,
            self._established_at,
            self._last_receive_at,
        )

    # -- logging -------------------------------------------------------------------------
    def _log(
        self,
        event: str,
        frame_type: FrameType | None = None,
        sequence: int | None = None,
        size: int = 0,
        code: ErrorCode | None = None,
        detail: str = "",
    ) -> None:
        self._logger(
            LinkEvent(
                self._now(), self.serial, self.peer, event, frame_type, sequence, size, code, detail
            )
        )

    def _rejected(self, exc: LinkError, data: bytes) -> None:
        """Count and log a refusal (the only side effects a refused frame may have)."""
        self.rejected_frames += 1
        if isinstance(exc, AuthenticationError):
            self.auth_failures += 1
        self._log("reject", size=len(data), code=exc.code, detail=exc.detail)

    # -- timeouts ------------------------------------------------------------------------
    def expiry_reason(self) -> str | None:
        """Why the session has timed out at ``now()``, or None if it has not."""
        t = self._now()
        if self._state in (SessionState.AWAIT_CHALLENGE, SessionState.AWAIT_RESPONSE):
            assert self._handshake_started_at is not None
            if t - self._handshake_started_at >= self.timeouts.handshake_s:
                return "handshake timeout"
        if self._state is SessionState.ESTABLISHED:
            assert self._established_at is not None and self._last_receive_at is not None
            if t - self._established_at >= self.timeouts.absolute_s:
                return "absolute timeout"
            if t - self._last_receive_at >= self.timeouts.idle_s:
                return "idle timeout"
        return None

    def check_alive(self) -> None:
        """Close the session and raise SessionError(EXPIRED) if it has timed out."""
        reason = self.expiry_reason()
        if reason is not None:
            self._state = SessionState.CLOSED
            self._send_key = self._recv_key = None  # keys are useless now: drop them
            self._log("timeout", code=ErrorCode.EXPIRED, detail=reason)
            raise SessionError(ErrorCode.EXPIRED, reason)

    # -- sending -------------------------------------------------------------------------
    def _take_sequence(self) -> int:
        seq = self._next_send
        if seq > MAX_SEQUENCE:
            raise SessionError(ErrorCode.SEQUENCE_EXHAUSTED, "start a new session")
        self._next_send = seq + 1
        return seq

    def _emit(self, frame: Frame) -> bytes:
        wire = frame.encode()
        self._log("send", frame.type, frame.sequence, len(wire))
        return wire

    def seal(self, payload: bytes, frame_type: FrameType = FrameType.DATA) -> bytes:
        """Encrypt ``payload`` into the next session frame (DATA by default); return its bytes."""
        if frame_type not in SESSION_TYPES:
            raise SessionError(ErrorCode.UNEXPECTED_TYPE, f"cannot seal {frame_type.name}")
        if self._state is not SessionState.ESTABLISHED or self._send_key is None:
            raise SessionError(ErrorCode.WRONG_STATE, f"session is {self._state.value}")
        self.check_alive()
        if self._next_send > MAX_SEQUENCE:
            raise SessionError(ErrorCode.SEQUENCE_EXHAUSTED, "start a new session")
        header = encode_header(frame_type, self._next_send, len(payload))  # checks size
        seq = self._take_sequence()
        ciphertext, tag = self._send_key.seal(seq, header, payload)
        return self._emit(Frame(frame_type, seq, ciphertext, tag))

    def close_frame(self) -> bytes:
        """A CLOSE frame for the peer; this session is closed afterwards."""
        wire = self.seal(b"", FrameType.CLOSE)
        self._state = SessionState.CLOSED
        self._send_key = self._recv_key = None
        self._log("close", detail="closed locally")
        return wire

    def error_frame(self, code: ErrorCode, detail: str = "", retry_after_s: float = 0.0) -> bytes:
        """An ERROR frame: encrypted inside a session, else plaintext with a zero tag, seq 0.

        A pre-session ERROR is unauthenticated: the receiver treats it as advice only.
        """
        payload = encode_error(ErrorInfo(code, retry_after_s, detail))
        if self._state is SessionState.ESTABLISHED and self.expiry_reason() is None:
            return self.seal(payload, FrameType.ERROR)
        return self._emit(Frame(FrameType.ERROR, 0, payload, ZERO_TAG))

    # -- receiving -----------------------------------------------------------------------
    def open(self, data: bytes) -> Message:
        """Authenticate and decrypt one session frame; refuse replays and reordering.

        Raises FrameError (malformed), SessionError (state, type, timeout), ReplayError
        (sequence not above the last accepted one) or AuthenticationError (bad tag).
        """
        if self._state is not SessionState.ESTABLISHED:
            exc = SessionError(ErrorCode.WRONG_STATE, f"session is {self._state.value}")
            self._rejected(exc, data)
            raise exc
        self.check_alive()
        try:
            frame = parse_frame(data)
            if frame.type not in SESSION_TYPES:
                raise SessionError(ErrorCode.UNEXPECTED_TYPE, f"{frame.type.name} in session")
            # Checked before decrypting (cheap); the sequence is authenticated by the AEAD
            # below before anything is committed.
            if frame.sequence <= self._last_recv:
                raise ReplayError(
                    ErrorCode.REPLAY, f"sequence {frame.sequence} <= {self._last_recv}"
                )
            assert self._recv_key is not None
            plaintext = self._recv_key.open(frame.sequence, frame.header, frame.payload, frame.tag)
        except LinkError as exc:
            self._rejected(exc, data)
            raise
        # Commit only now: the frame is genuine and new.
        self._last_recv = frame.sequence
        self._last_receive_at = self._now()
        self._log("receive", frame.type, frame.sequence, len(data))
        if frame.type is FrameType.CLOSE:
            self._state = SessionState.CLOSED
            self._send_key = self._recv_key = None
            self._log("close", detail="closed by peer")
        elif frame.type is FrameType.ERROR:
            self._log("peer-error", frame.type, frame.sequence, detail=plaintext[:64].hex())
        return Message(frame.type, frame.sequence, plaintext)

    # -- shared handshake helpers --------------------------------------------------------
    def _establish(self, keys: crypto.SessionKeys, initiator: bool) -> None:
        send, recv = (
            (keys.client_to_server, keys.server_to_client)
            if initiator
            else (keys.server_to_client, keys.client_to_server)
        )
        c2s, s2c = Direction.CLIENT_TO_SERVER, Direction.SERVER_TO_CLIENT
        self._send_key = AeadKey(send, c2s if initiator else s2c)
        self._recv_key = AeadKey(recv, s2c if initiator else c2s)
        t = self._now()
        self._established_at = t
        self._last_receive_at = t
        self._state = SessionState.ESTABLISHED
        assert self._role is not None
        self._log("established", detail=self._role.name.lower())

    def _handshake_frame(self, role_key: bytes, frame_type: FrameType, payload: bytes) -> bytes:
        seq = self._take_sequence()
        header = encode_header(frame_type, seq, len(payload))
        return self._emit(
            Frame(frame_type, seq, payload, crypto.handshake_tag(role_key, header, payload))
        )


def _expect(frame: Frame, frame_type: FrameType, sequence: int) -> None:
    if frame.type is FrameType.ERROR:
        info = decode_error(frame.payload)
        raise PeerError(info.code, info.detail, info.retry_after_s)
    if frame.type is not frame_type:
        raise SessionError(
            ErrorCode.UNEXPECTED_TYPE, f"{frame.type.name}, expected {frame_type.name}"
        )
    if frame.sequence != sequence:
        raise ReplayError(ErrorCode.REPLAY, f"{frame_type.name} sequence {frame.sequence}")


class Initiator(Session):
    """The programmer / patient-controller end: holds one role key, starts the handshake."""

    def __init__(
        self,
        serial: str,
        role: Role,
        role_key: bytes,
        now: Clock,
        *,
        timeouts: LinkTimeouts | None = None,
        logger: LinkLogger = _no_log,
        peer: str = "",
        random_bytes: RandomBytes = secrets.token_bytes,
    ) -> None:
        super().__init__(
            serial, now, timeouts=timeouts, logger=logger, peer=peer, random_bytes=random_bytes
        )
        if len(role_key) != crypto.KEY_LEN:
            raise ValueError(f"role key must be {crypto.KEY_LEN} bytes")
        self._claimed_role = Role(role)
        self._role_key = role_key
        self._hello_payload = b""
        self._client_nonce = b""

    def hello(self) -> bytes:
        """Start the handshake: return the HELLO frame."""
        if self._state is not SessionState.IDLE:
            raise SessionError(ErrorCode.WRONG_STATE, f"session is {self._state.value}")
        self._client_nonce = self._random(crypto.HANDSHAKE_NONCE_LEN)
        self._hello_payload = encode_hello(self._claimed_role, self._client_nonce, self.serial)
        self._role = self._claimed_role
        self._handshake_started_at = self._now()
        self._state = SessionState.AWAIT_CHALLENGE
        return self._handshake_frame(self._role_key, FrameType.HELLO, self._hello_payload)

    def receive_challenge(self, data: bytes) -> bytes:
        """Verify the implant's CHALLENGE (its proof of the key); return the RESPONSE frame.

        The session is ESTABLISHED once this returns. An ERROR from the implant raises
        :class:`PeerError` (unauthenticated advice; the state is unchanged).
        """
        if self._state is not SessionState.AWAIT_CHALLENGE:
            exc = SessionError(ErrorCode.WRONG_STATE, f"session is {self._state.value}")
            self._rejected(exc, data)
            raise exc
        self.check_alive()
        try:
            frame = parse_frame(data)
            _expect(frame, FrameType.CHALLENGE, 0)
            crypto.verify_equal(
                crypto.handshake_tag(self._role_key, frame.header, frame.payload),
                frame.tag,
                ErrorCode.BAD_TAG,
                "CHALLENGE tag",
            )
            if len(frame.payload) != _CHALLENGE_LEN:
                raise FrameError(ErrorCode.BAD_PAYLOAD, "CHALLENGE payload length")
            server_nonce = frame.payload[: crypto.HANDSHAKE_NONCE_LEN]
            transcript = self._hello_payload + server_nonce
            crypto.verify_equal(
                crypto.proof(self._role_key, crypto.LABEL_SERVER_PROOF, transcript),
                frame.payload[crypto.HANDSHAKE_NONCE_LEN :],
                ErrorCode.BAD_PROOF,
                "implant proof",
            )
        except PeerError as exc:
            self._log("peer-error", FrameType.ERROR, 0, len(data), exc.code, exc.detail)
            raise
        except LinkError as exc:
            self._rejected(exc, data)
            raise
        self._log("receive", frame.type, frame.sequence, len(data))
        self._last_recv = frame.sequence
        client_proof = crypto.proof(self._role_key, crypto.LABEL_CLIENT_PROOF, transcript)
        response = self._handshake_frame(self._role_key, FrameType.RESPONSE, client_proof)
        keys = crypto.derive_session_keys(
            self._role_key, self._client_nonce, server_nonce, transcript
        )
        self._establish(keys, initiator=True)
        return response


class Responder(Session):
    """The implant end: holds the implant secret (hence every role key), answers handshakes."""

    def __init__(
        self,
        serial: str,
        implant_secret: bytes,
        now: Clock,
        backoff: AuthBackoff,
        *,
        timeouts: LinkTimeouts | None = None,
        logger: LinkLogger = _no_log,
        peer: str = "",
        random_bytes: RandomBytes = secrets.token_bytes,
    ) -> None:
        super().__init__(
            serial, now, timeouts=timeouts, logger=logger, peer=peer, random_bytes=random_bytes
        )
        self._role_keys = {r: crypto.derive_role_key(implant_secret, serial, r) for r in Role}
        self._backoff = backoff
        self._transcript = b""
        self._client_nonce = b""
        self._server_nonce = b""

    def _auth_failed(self, exc: LinkError, data: bytes) -> None:
        self._rejected(exc, data)
        if isinstance(exc, AuthenticationError):
            wait = self._backoff.record_failure(self.peer)
            self._log("backoff", code=ErrorCode.BACKOFF, detail=f"{wait:.3f} s")

    def receive_hello(self, data: bytes) -> bytes:
        """Check a HELLO (back-off, device, role, tag); return the CHALLENGE frame."""
        try:
            if self._state is not SessionState.IDLE:
                raise SessionError(ErrorCode.WRONG_STATE, f"session is {self._state.value}")
            self._backoff.check(self.peer)
            frame = parse_frame(data)
            _expect(frame, FrameType.HELLO, 0)
            role_byte, client_nonce, serial = decode_hello(frame.payload)
            if serial != self.serial:
                raise AuthenticationError(ErrorCode.WRONG_DEVICE, f"HELLO for {serial!r}")
            try:
                role = Role(role_byte)
            except ValueError:
                raise AuthenticationError(ErrorCode.UNKNOWN_ROLE, f"role {role_byte}") from None
            role_key = self._role_keys[role]
            crypto.verify_equal(
                crypto.handshake_tag(role_key, frame.header, frame.payload),
                frame.tag,
                ErrorCode.BAD_TAG,
                f"HELLO tag for role {role.name.lower()}",
            )
        except LinkError as exc:
            self._auth_failed(exc, data)
            raise
        self._log("receive", frame.type, frame.sequence, len(data))
        self._last_recv = frame.sequence
        self._role = role
        self._client_nonce = client_nonce
        self._server_nonce = self._random(crypto.HANDSHAKE_NONCE_LEN)
        self._transcript = frame.payload + self._server_nonce
        self._handshake_started_at = self._now()
        self._state = SessionState.AWAIT_RESPONSE
        server_proof = crypto.proof(role_key, crypto.LABEL_SERVER_PROOF, self._transcript)
        return self._handshake_frame(
            role_key, FrameType.CHALLENGE, self._server_nonce + server_proof
        )

    def receive_response(self, data: bytes) -> None:
        """Check the RESPONSE (the client's proof); the session is ESTABLISHED on return."""
        if self._state is SessionState.AWAIT_RESPONSE:
            self.check_alive()
        try:
            if self._state is not SessionState.AWAIT_RESPONSE or self._role is None:
                raise SessionError(ErrorCode.WRONG_STATE, f"session is {self._state.value}")
            self._backoff.check(self.peer)
            role_key = self._role_keys[self._role]
            frame = parse_frame(data)
            _expect(frame, FrameType.RESPONSE, 1)
            crypto.verify_equal(
                crypto.handshake_tag(role_key, frame.header, frame.payload),
                frame.tag,
                ErrorCode.BAD_TAG,
                "RESPONSE tag",
            )
            if len(frame.payload) != _RESPONSE_LEN:
                raise FrameError(ErrorCode.BAD_PAYLOAD, "RESPONSE payload length")
            crypto.verify_equal(
                crypto.proof(role_key, crypto.LABEL_CLIENT_PROOF, self._transcript),
                frame.payload,
                ErrorCode.BAD_PROOF,
                "client proof",
            )
        except LinkError as exc:
            self._auth_failed(exc, data)
            raise
        self._log("receive", frame.type, frame.sequence, len(data))
        self._last_recv = frame.sequence
        self._backoff.record_success(self.peer)
        keys = crypto.derive_session_keys(
            role_key, self._client_nonce, self._server_nonce, self._transcript
        )
        self._establish(keys, initiator=False)

    def receive(self, data: bytes) -> "Inbound":
        """Dispatch on state: HELLO → reply CHALLENGE; RESPONSE → established; else open()."""
        if self._state is SessionState.IDLE:
            return Inbound(reply=self.receive_hello(data))
        if self._state is SessionState.AWAIT_RESPONSE:
            self.receive_response(data)
            return Inbound()
        return Inbound(message=self.open(data))

    def authorize(self, operation: str) -> Role:
        """The session's role if it may perform ``operation``; else PermissionDenied (logged)."""
        if self._state is not SessionState.ESTABLISHED or self._role is None:
            raise SessionError(ErrorCode.WRONG_STATE, f"session is {self._state.value}")
        try:
            require_permitted(self._role, operation)
        except LinkError as exc:
            self._log("denied", code=exc.code, detail=exc.detail)
            raise
        return self._role


@dataclass(frozen=True)
class Inbound:
    """What :meth:`Responder.receive` produced: a frame to send back and/or a message."""

    reply: bytes | None = None
    message: Message | None = None
