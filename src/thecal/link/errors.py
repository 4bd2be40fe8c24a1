"""Error codes and exceptions of the link layer.

Every refusal carries an :class:`ErrorCode`. The numeric values are on the wire (ERROR frames,
``docs/link-protocol.md`` §8): they never change meaning, new codes are only appended.
"""

from enum import IntEnum


class ErrorCode(IntEnum):
    """Why a frame, handshake or request was refused (u16 on the wire)."""

    # 0x01xx framing: the bytes are not a well-formed frame.
    TRUNCATED = 0x0101
    TOO_LARGE = 0x0102
    BAD_VERSION = 0x0103
    UNKNOWN_TYPE = 0x0104
    TRAILING_BYTES = 0x0105
    BAD_LENGTH = 0x0106
    BAD_PAYLOAD = 0x0107
    # 0x02xx authentication: the frame is well formed but not genuine.
    BAD_TAG = 0x0201
    BAD_PROOF = 0x0202
    WRONG_DEVICE = 0x0203
    UNKNOWN_ROLE = 0x0204
    BACKOFF = 0x0205
    # 0x03xx session: genuine but not acceptable now.
    REPLAY = 0x0301
    UNEXPECTED_TYPE = 0x0302
    WRONG_STATE = 0x0303
    EXPIRED = 0x0304
    SEQUENCE_EXHAUSTED = 0x0305
    CLOSED = 0x0306
    # 0x04xx authorization and envelope.
    FORBIDDEN = 0x0401
    BAD_ENVELOPE = 0x0402
    # 0xFFxx other.
    INTERNAL = 0xFF01


class LinkError(Exception):
    """Base of every link-layer refusal; ``code`` says why, ``detail`` is for the log."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code.name}: {detail}" if detail else code.name)


class FrameError(LinkError):
    """The bytes are not exactly one well-formed frame (the parser's only exception)."""


class AuthenticationError(LinkError):
    """A tag or proof did not verify, the frame names another device, or the role is unknown."""


class BackoffError(LinkError):
    """The peer failed authentication recently and must wait ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: float, detail: str = "") -> None:
        self.retry_after_s = retry_after_s
        super().__init__(ErrorCode.BACKOFF, detail or f"retry after {retry_after_s:.3f} s")


class ReplayError(LinkError):
    """The frame's sequence number is not above the last accepted one (replay or reordering)."""


class SessionError(LinkError):
    """Wrong session state, timed-out session, unexpected frame type or exhausted sequence."""


class PermissionDenied(LinkError):
    """The authenticated role may not perform the requested operation."""


class PeerError(LinkError):
    """The peer sent an ERROR frame; ``code`` is the peer's code."""

    def __init__(self, code: ErrorCode, detail: str = "", retry_after_s: float = 0.0) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(code, detail)


class TransportError(Exception):
    """The transport failed (closed, timed out, refused); not a protocol refusal."""


class TransportTimeout(TransportError):
    """Nothing arrived within the requested time."""


class TransportClosed(TransportError):
    """The other end closed the transport, or it was closed locally."""
