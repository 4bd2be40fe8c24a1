"""The encrypted record layer: seal and open DATA / ERROR / CLOSE frames in a session.

AES-256-GCM with one key per direction and the frame header as associated data. Incoming
frames must carry a sequence above the last accepted one (no replay, no reordering); a
refused frame changes nothing but the rejection counters and the log.
"""

from thecal.link.errors import (
    ErrorCode,
    LinkError,
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
    encode_error,
    encode_header,
    parse_frame,
)
from thecal.link.session_state import Message, SessionCore, SessionState


class Session(SessionCore):
    """State shared by both ends: sequence numbers, keys, timeouts, logging, rejections."""

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
