"""Request/response envelope with a request id, and a tracker for lost acknowledgements.

The link carries opaque DATA payloads; the command layer puts its encoded command inside an
envelope so that every answer names the request it answers. A request whose response has not
arrived within the caller's bound is *overdue*: the programmer must treat its effect as
uncertain (it may have run) and re-read the implant before any new dosing command.

Layout (``docs/link-protocol.md`` §10)::

    0  1  kind        1 = request, 2 = response
    1  8  request id  u64, > 0, never reused by one programmer for one implant session
    9  n  body        opaque (command encoding is the next layer's)
"""

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from thecal.link.errors import ErrorCode, LinkError
from thecal.link.frames import MAX_PAYLOAD_LEN

_ENVELOPE = struct.Struct(">BQ")
ENVELOPE_OVERHEAD = _ENVELOPE.size
MAX_BODY_LEN = MAX_PAYLOAD_LEN - ENVELOPE_OVERHEAD
MAX_REQUEST_ID = 2**64 - 1


class EnvelopeKind(IntEnum):
    """Request or response."""

    REQUEST = 1
    RESPONSE = 2


class EnvelopeError(LinkError):
    """A DATA payload is not a valid envelope."""


@dataclass(frozen=True)
class Envelope:
    """A request or response with its request id; ``body`` is opaque."""

    kind: EnvelopeKind
    request_id: int
    body: bytes

    def encode(self) -> bytes:
        """Envelope bytes (the DATA payload)."""
        if not 1 <= self.request_id <= MAX_REQUEST_ID:
            raise EnvelopeError(ErrorCode.BAD_ENVELOPE, "request id must be 1..2**64-1")
        if len(self.body) > MAX_BODY_LEN:
            raise EnvelopeError(ErrorCode.BAD_ENVELOPE, f"body {len(self.body)} bytes too long")
        return _ENVELOPE.pack(int(self.kind), self.request_id) + self.body


def request(request_id: int, body: bytes) -> bytes:
    """Encode a request envelope."""
    return Envelope(EnvelopeKind.REQUEST, request_id, body).encode()


def response(request_id: int, body: bytes) -> bytes:
    """Encode a response envelope answering ``request_id``."""
    return Envelope(EnvelopeKind.RESPONSE, request_id, body).encode()


def decode_envelope(payload: bytes) -> Envelope:
    """Parse a DATA payload strictly; raise :class:`EnvelopeError` if it is not an envelope."""
    if len(payload) < ENVELOPE_OVERHEAD:
        raise EnvelopeError(ErrorCode.BAD_ENVELOPE, "shorter than 9 bytes")
    kind_byte, request_id = _ENVELOPE.unpack_from(payload)
    try:
        kind = EnvelopeKind(kind_byte)
    except ValueError:
        raise EnvelopeError(ErrorCode.BAD_ENVELOPE, f"kind {kind_byte}") from None
    if request_id == 0:
        raise EnvelopeError(ErrorCode.BAD_ENVELOPE, "request id 0")
    return Envelope(kind, request_id, payload[ENVELOPE_OVERHEAD:])


@dataclass(frozen=True)
class PendingRequest:
    """A request sent and not yet answered."""

    request_id: int
    sent_at: float
    body: bytes


class RequestTracker:
    """Programmer side: allocates request ids, matches responses, reports overdue requests.

    ``now`` is monotonic seconds; ``ack_timeout_s`` is the caller's bound for an answer.
    """

    def __init__(self, now: Callable[[], float], ack_timeout_s: float) -> None:
        if ack_timeout_s <= 0:
            raise ValueError("ack_timeout_s must be positive")
        self._now = now
        self.ack_timeout_s = ack_timeout_s
        self._next_id = 1
        self._pending: dict[int, PendingRequest] = {}

    def new_request(self, body: bytes) -> tuple[int, bytes]:
        """Allocate the next request id; return (id, envelope bytes to send as DATA)."""
        request_id = self._next_id
        wire = request(request_id, body)  # validates before the id is consumed
        self._next_id += 1
        self._pending[request_id] = PendingRequest(request_id, self._now(), body)
        return request_id, wire

    def match(self, envelope: Envelope) -> PendingRequest | None:
        """The pending request this response answers (removed), or None if unknown/duplicate."""
        if envelope.kind is not EnvelopeKind.RESPONSE:
            return None
        return self._pending.pop(envelope.request_id, None)

    def overdue(self) -> list[PendingRequest]:
        """Pending requests older than the bound: their outcome is uncertain."""
        t = self._now()
        return [p for p in self._pending.values() if t - p.sent_at >= self.ack_timeout_s]

    def forget(self, request_id: int) -> None:
        """Drop a pending request (after the implant's log has settled what happened)."""
        self._pending.pop(request_id, None)

    @property
    def pending(self) -> tuple[PendingRequest, ...]:
        """All unanswered requests, oldest first."""
        return tuple(self._pending.values())
