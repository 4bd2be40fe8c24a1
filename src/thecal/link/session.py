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

The implementation lives in :mod:`thecal.link.session_state` (state, sequence, keys,
timeouts), :mod:`thecal.link.record_layer` (seal/open, replay window),
:mod:`thecal.link.handshake` (HELLO / CHALLENGE / RESPONSE) and :mod:`thecal.link.backoff`;
this module re-exports their public names.
"""

from thecal.link.backoff import AuthBackoff
from thecal.link.handshake import Inbound, Initiator, Responder, decode_hello, encode_hello
from thecal.link.record_layer import Session
from thecal.link.session_state import (
    Clock,
    LinkEvent,
    LinkLogger,
    LinkTimeouts,
    Message,
    SessionCore,
    SessionSnapshot,
    SessionState,
)

__all__ = [
    "AuthBackoff",
    "Clock",
    "Inbound",
    "Initiator",
    "LinkEvent",
    "LinkLogger",
    "LinkTimeouts",
    "Message",
    "Responder",
    "Session",
    "SessionCore",
    "SessionSnapshot",
    "SessionState",
    "decode_hello",
    "encode_hello",
]
