"""The handshake: mutual challenge–response, initiator and responder sides.

``docs/link-protocol.md`` §7: HELLO (role, client nonce, serial), CHALLENGE (server nonce and
the implant's proof), RESPONSE (the client's proof), each tagged with the role key; both ends
then derive one AEAD key per direction. :class:`Initiator` is the programmer end,
:class:`Responder` the implant end (with :class:`~thecal.link.backoff.AuthBackoff`).
"""

import secrets
import struct
from dataclasses import dataclass

from thecal.link import crypto
from thecal.link.backoff import AuthBackoff
from thecal.link.crypto import RandomBytes
from thecal.link.errors import (
    AuthenticationError,
    ErrorCode,
    FrameError,
    LinkError,
    PeerError,
    ReplayError,
    SessionError,
)
from thecal.link.frames import Frame, FrameType, decode_error, parse_frame
from thecal.link.record_layer import Session
from thecal.link.roles import Role, require_permitted
from thecal.link.session_state import (
    Clock,
    LinkLogger,
    LinkTimeouts,
    Message,
    SessionState,
    no_log,
)

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
        logger: LinkLogger = no_log,
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
        logger: LinkLogger = no_log,
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
