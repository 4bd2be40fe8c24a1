"""Session state shared by both ends: life cycle, sequence numbers, keys, timeouts, logging.

:class:`SessionCore` holds everything that decides how the next frame is treated (see
:meth:`SessionCore.snapshot`) and the helpers that change it: sequence allocation, timeout
expiry, rejection counting, the event log and key installation once a handshake succeeds. The
encrypted record layer (:mod:`thecal.link.record_layer`) and the handshake
(:mod:`thecal.link.handshake`) build on it. Sans-I/O: time comes from an injected ``now``.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from thecal.link import crypto
from thecal.link.crypto import AeadKey, Direction, RandomBytes
from thecal.link.errors import (
    AuthenticationError,
    ErrorCode,
    LinkError,
    SessionError,
)
from thecal.link.frames import (
    MAX_SEQUENCE,
    ErrorInfo,
    Frame,
    FrameType,
    decode_error,
    encode_header,
)
from thecal.link.roles import Role

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


def no_log(_event: LinkEvent) -> None:
    """The default logger: discard the event."""
    return None


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


class SessionCore:
    """State shared by both ends: sequence numbers, keys, timeouts, logging, rejections."""

    def __init__(
        self,
        serial: str,
        now: Clock,
        *,
        timeouts: LinkTimeouts | None = None,
        logger: LinkLogger = no_log,
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
