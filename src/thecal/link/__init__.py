"""Authenticated telemetry link between programmers and the implant (protocol version 1).

A reusable layer: it imports only the standard library and ``cryptography``, nothing from the
therapy core or the implant. Commands are opaque bytes here; their encoding belongs to the layer
above. Specification: ``docs/link-protocol.md``.

This package re-exports the pure protocol API only. The I/O edges are imported explicitly:
:mod:`thecal.link.transport` (sockets, threads) and :mod:`thecal.link.keystore` (key files).
"""

from thecal.link.crypto import derive_role_key, generate_secret
from thecal.link.envelope import (
    Envelope,
    EnvelopeError,
    EnvelopeKind,
    PendingRequest,
    RequestTracker,
    decode_envelope,
    request,
    response,
)
from thecal.link.errors import (
    AuthenticationError,
    BackoffError,
    ErrorCode,
    FrameError,
    LinkError,
    PeerError,
    PermissionDenied,
    ReplayError,
    SessionError,
    TransportClosed,
    TransportError,
    TransportTimeout,
)
from thecal.link.frames import (
    MAX_FRAME_LEN,
    MAX_PAYLOAD_LEN,
    VERSION,
    ErrorInfo,
    Frame,
    FrameDecoder,
    FrameType,
    decode_error,
    encode_error,
    parse_frame,
)
from thecal.link.roles import (
    OP_PATIENT_BOLUS,
    OP_STATUS,
    PATIENT_OPERATIONS,
    Role,
    permits,
    require_permitted,
)
from thecal.link.session import (
    AuthBackoff,
    Clock,
    Inbound,
    Initiator,
    LinkEvent,
    LinkLogger,
    LinkTimeouts,
    Message,
    Responder,
    Session,
    SessionSnapshot,
    SessionState,
)

__all__ = [
    "MAX_FRAME_LEN",
    "MAX_PAYLOAD_LEN",
    "OP_PATIENT_BOLUS",
    "OP_STATUS",
    "PATIENT_OPERATIONS",
    "VERSION",
    "AuthBackoff",
    "AuthenticationError",
    "BackoffError",
    "Clock",
    "Envelope",
    "EnvelopeError",
    "EnvelopeKind",
    "ErrorCode",
    "ErrorInfo",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "FrameType",
    "Inbound",
    "Initiator",
    "LinkError",
    "LinkEvent",
    "LinkLogger",
    "LinkTimeouts",
    "Message",
    "PeerError",
    "PendingRequest",
    "PermissionDenied",
    "ReplayError",
    "RequestTracker",
    "Responder",
    "Role",
    "Session",
    "SessionError",
    "SessionSnapshot",
    "SessionState",
    "TransportClosed",
    "TransportError",
    "TransportTimeout",
    "decode_envelope",
    "decode_error",
    "derive_role_key",
    "encode_error",
    "generate_secret",
    "parse_frame",
    "permits",
    "request",
    "require_permitted",
    "response",
]
