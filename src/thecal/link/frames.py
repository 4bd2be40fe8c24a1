"""Frame layout (protocol version 1) and the strict parser.

Layout (big-endian, byte offsets; see ``docs/link-protocol.md`` §3)::

    0   4  length     bytes that follow this field (header rest + payload + tag)
    4   1  version    1
    5   1  type       FrameType
    6   8  sequence   u64, per direction, +1 for every frame sent
    14  n  payload    plaintext (HELLO/CHALLENGE/RESPONSE, pre-session ERROR) or ciphertext
    14+n 16 tag       HMAC-SHA256/128 (handshake), AEAD tag (session) or zeros (pre-session ERROR)

The parser only checks structure; tags are verified by :mod:`thecal.link.session`. It is pure:
no state, no I/O, and its only exception is :class:`~thecal.link.errors.FrameError`.
"""

import struct
from dataclasses import dataclass
from enum import IntEnum

from thecal.link.errors import ErrorCode, FrameError

VERSION = 1
LENGTH_FIELD_LEN = 4
HEADER_LEN = 14
TAG_LEN = 16
MAX_FRAME_LEN = 65536
"""Largest whole frame in bytes, length field included (64 KiB): bounds every buffer."""
MIN_FRAME_LEN = HEADER_LEN + TAG_LEN
MAX_PAYLOAD_LEN = MAX_FRAME_LEN - HEADER_LEN - TAG_LEN
MAX_SEQUENCE = 2**64 - 1
ZERO_TAG = bytes(TAG_LEN)

_HEADER = struct.Struct(">IBBQ")


class FrameType(IntEnum):
    """Link-level message types. Commands travel as opaque DATA payloads."""

    HELLO = 1
    CHALLENGE = 2
    RESPONSE = 3
    DATA = 4
    ERROR = 5
    CLOSE = 6


HANDSHAKE_TYPES = frozenset({FrameType.HELLO, FrameType.CHALLENGE, FrameType.RESPONSE})
SESSION_TYPES = frozenset({FrameType.DATA, FrameType.ERROR, FrameType.CLOSE})


@dataclass(frozen=True)
class Frame:
    """One parsed frame. ``payload`` is ciphertext for frames sent inside a session."""

    type: FrameType
    sequence: int
    payload: bytes
    tag: bytes

    def __post_init__(self) -> None:
        # Constructing a frame that could not be parsed back is a programming error.
        if len(self.payload) > MAX_PAYLOAD_LEN:
            raise FrameError(ErrorCode.TOO_LARGE, f"payload {len(self.payload)} bytes")
        if len(self.tag) != TAG_LEN:
            raise FrameError(ErrorCode.BAD_LENGTH, f"tag must be {TAG_LEN} bytes")
        if not 0 <= self.sequence <= MAX_SEQUENCE:
            raise FrameError(ErrorCode.BAD_PAYLOAD, "sequence out of u64 range")

    @property
    def header(self) -> bytes:
        """The 14 header bytes (the AEAD associated data)."""
        return encode_header(self.type, self.sequence, len(self.payload))

    def encode(self) -> bytes:
        """The frame's wire bytes."""
        return self.header + self.payload + self.tag


def encode_header(frame_type: FrameType, sequence: int, payload_len: int) -> bytes:
    """Header bytes for a frame whose payload is ``payload_len`` bytes long."""
    if not 0 <= payload_len <= MAX_PAYLOAD_LEN:
        raise FrameError(ErrorCode.TOO_LARGE, f"payload {payload_len} bytes")
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise FrameError(ErrorCode.BAD_PAYLOAD, "sequence out of u64 range")
    length = HEADER_LEN - LENGTH_FIELD_LEN + payload_len + TAG_LEN
    return _HEADER.pack(length, VERSION, int(frame_type), sequence)


def frame_length(prefix: bytes) -> int:
    """Total frame size in bytes announced by the first 4 bytes of a frame.

    Lets a stream reader refuse an oversized frame before buffering it.
    """
    if len(prefix) < LENGTH_FIELD_LEN:
        raise FrameError(ErrorCode.TRUNCATED, "fewer than 4 bytes for the length field")
    (length,) = struct.unpack_from(">I", prefix)
    total = LENGTH_FIELD_LEN + length
    if total > MAX_FRAME_LEN:
        raise FrameError(ErrorCode.TOO_LARGE, f"declared {total} bytes > {MAX_FRAME_LEN}")
    if total < MIN_FRAME_LEN:
        raise FrameError(ErrorCode.BAD_LENGTH, f"declared {total} bytes < {MIN_FRAME_LEN}")
    return int(total)


def parse_frame(data: bytes) -> Frame:
    """Parse exactly one frame, refusing anything malformed.

    Checks, in order: length field present, declared size within [30, 65536] bytes, enough
    bytes, no trailing bytes, version, known type. Raises :class:`FrameError` only.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FrameError(ErrorCode.BAD_PAYLOAD, f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_FRAME_LEN:
        raise FrameError(ErrorCode.TOO_LARGE, f"{len(data)} bytes > {MAX_FRAME_LEN}")
    total = frame_length(data)
    if len(data) < total:
        raise FrameError(ErrorCode.TRUNCATED, f"{len(data)} of {total} bytes")
    if len(data) > total:
        raise FrameError(ErrorCode.TRAILING_BYTES, f"{len(data) - total} bytes after frame")
    _, version, type_byte, sequence = _HEADER.unpack_from(data)
    if version != VERSION:
        raise FrameError(ErrorCode.BAD_VERSION, f"version {version}, expected {VERSION}")
    try:
        frame_type = FrameType(type_byte)
    except ValueError:
        raise FrameError(ErrorCode.UNKNOWN_TYPE, f"type {type_byte}") from None
    return Frame(frame_type, sequence, data[HEADER_LEN:-TAG_LEN], data[-TAG_LEN:])


class FrameDecoder:
    """Splits a byte stream (TCP) into frames; refuses an oversized length before buffering.

    After a :class:`FrameError` the stream cannot be resynchronised: close the connection.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Append received bytes; return the complete frames (raw bytes) now available."""
        self._buffer += data
        frames: list[bytes] = []
        while len(self._buffer) >= LENGTH_FIELD_LEN:
            total = frame_length(bytes(self._buffer[:LENGTH_FIELD_LEN]))
            if len(self._buffer) < total:
                break
            frames.append(bytes(self._buffer[:total]))
            del self._buffer[:total]
        return frames

    @property
    def pending(self) -> int:
        """Bytes buffered towards an incomplete frame."""
        return len(self._buffer)


# ERROR payload: code u16 | retry_after_ms u32 | detail (UTF-8, at most 256 bytes).
_ERROR = struct.Struct(">HI")
MAX_ERROR_DETAIL = 256


@dataclass(frozen=True)
class ErrorInfo:
    """Content of an ERROR frame."""

    code: ErrorCode
    retry_after_s: float = 0.0
    detail: str = ""


def encode_error(info: ErrorInfo) -> bytes:
    """ERROR payload bytes; the detail is truncated to 256 bytes of UTF-8."""
    detail = info.detail.encode("utf-8")[:MAX_ERROR_DETAIL].decode("utf-8", "ignore")
    retry_ms = min(max(round(info.retry_after_s * 1000), 0), 2**32 - 1)
    return _ERROR.pack(int(info.code), retry_ms) + detail.encode("utf-8")


def decode_error(payload: bytes) -> ErrorInfo:
    """Parse an ERROR payload strictly (known code, valid UTF-8, bounded detail)."""
    if len(payload) < _ERROR.size:
        raise FrameError(ErrorCode.BAD_PAYLOAD, "ERROR payload shorter than 6 bytes")
    if len(payload) > _ERROR.size + MAX_ERROR_DETAIL:
        raise FrameError(ErrorCode.BAD_PAYLOAD, "ERROR detail longer than 256 bytes")
    code_value, retry_ms = _ERROR.unpack_from(payload)
    try:
        code = ErrorCode(code_value)
        detail = payload[_ERROR.size :].decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise FrameError(ErrorCode.BAD_PAYLOAD, "unknown error code or bad UTF-8") from None
    return ErrorInfo(code, retry_ms / 1000, detail)
