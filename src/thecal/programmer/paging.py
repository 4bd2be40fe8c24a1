"""Reply paging: no reply outgrows a frame, whatever the program, journal or log (pure).

A frame is at most 64 KiB. The implant encodes every reply; one longer than ``page_bytes`` is
sent in pages instead (``docs/programmer.md`` §1.4):

* the answer to the command is a reply with status ``paged`` whose ``data.paged`` is
  ``{"handle", "pages", "bytes", "sha256", "chunk"}`` — ``chunk`` is page 0 (base64 of the
  first bytes of the full reply's encoding);
* the programmer asks ``reply_page {"handle", "page"}`` for pages 1 … pages − 1 (each answer's
  ``data.chunk`` is base64), joins them, checks length and SHA-256 and decodes the full reply.

The implant keeps only the last paged reply of each session (a new one replaces it), so memory
stays bounded. The full reply is a snapshot taken when the command ran: its pages are
consistent with each other whatever happens on the implant meanwhile.
"""

import base64
import binascii
import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from thecal.devices.log import LogEvent
from thecal.programmer.commands import CommandError, Reply, ReplyStatus, canonical
from thecal.programmer.wire_device import event_to_json

MAX_PAGED_REPLY_BYTES = 16 * 1024 * 1024
"""Largest reassembled reply the programmer accepts (16 MiB; product choice): the page count
comes from the implant, and a corrupted or hostile count must not exhaust the programmer."""


PAGE_OVERHEAD = 1024
"""Bytes of a page reply kept for everything but its chunk (op, command id — at most 64
characters, 384 bytes once JSON-escaped —, status, device time, handle, page number): a page
reply therefore never needs paging itself."""


def chunk_bytes(page_bytes: int) -> int:
    """Raw bytes per page: base64 turns 3 bytes into 4, so a page reply (chunk + overhead)
    stays within ``page_bytes`` (e.g. 48 000 → (46 976 // 4) × 3 = 35 232 raw bytes)."""
    return ((page_bytes - PAGE_OVERHEAD) // 4) * 3


@dataclass(frozen=True)
class PagedBody:
    """One reply's encoding, kept by the implant for its session until replaced."""

    handle: int
    body: bytes
    page_bytes: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.body) / chunk_bytes(self.page_bytes)))

    def chunk(self, page: int) -> str:
        """Page ``page`` (0-based) as base64 text."""
        size = chunk_bytes(self.page_bytes)
        return base64.b64encode(self.body[page * size : (page + 1) * size]).decode("ascii")

    def first_reply(self, reply: Reply) -> Reply:
        """The ``paged`` reply standing for ``reply``: its identity and page 0."""
        return Reply(
            reply.op,
            reply.command_id,
            ReplyStatus.PAGED,
            reply.device_time,
            data={
                "paged": {
                    "handle": self.handle,
                    "pages": self.pages,
                    "bytes": len(self.body),
                    "sha256": hashlib.sha256(self.body).hexdigest(),
                    "chunk": self.chunk(0),
                }
            },
        )


@dataclass(frozen=True)
class PageIndex:
    """What the programmer learns from a ``paged`` reply (checked before any page request)."""

    handle: int
    pages: int
    size: int
    sha256: str
    first: bytes


def page_index(data: Any) -> PageIndex:
    """Parse ``data.paged`` strictly; raise :class:`CommandError` naming the field."""
    if not isinstance(data, dict) or not isinstance(data.get("paged"), dict):
        raise CommandError("data.paged", "expected an object")
    p = data["paged"]
    fields = ("handle", "pages", "bytes")
    for name in fields:
        v = p.get(name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise CommandError(f"data.paged.{name}", "expected an integer >= 0")
    sha = p.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64:
        raise CommandError("data.paged.sha256", "expected 64 hex digits")
    if not 1 <= p["bytes"] <= MAX_PAGED_REPLY_BYTES:
        raise CommandError("data.paged.bytes", f"must be 1 to {MAX_PAGED_REPLY_BYTES}")
    if not 1 <= p["pages"] <= p["bytes"]:
        raise CommandError("data.paged.pages", "must be 1 to the reply's size in bytes")
    return PageIndex(p["handle"], p["pages"], p["bytes"], sha, decode_chunk(p.get("chunk")))


def decode_chunk(value: Any, field: str = "data.paged.chunk") -> bytes:
    """A page's bytes from its base64 text."""
    if not isinstance(value, str):
        raise CommandError(field, "expected base64 text")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CommandError(field, "not base64") from None


def join_pages(index: PageIndex, chunks: list[bytes]) -> bytes:
    """The full reply encoding from all its pages, checked against the index's size and
    SHA-256 (a missing, repeated or altered page is an error, never a wrong reply)."""
    if len(chunks) != index.pages:
        raise CommandError("paged", f"{len(chunks)} of {index.pages} pages")
    body = b"".join(chunks)
    if len(body) != index.size:
        raise CommandError("paged", f"{len(body)} bytes, expected {index.size}")
    if hashlib.sha256(body).hexdigest() != index.sha256:
        raise CommandError("paged", "SHA-256 of the pages does not match")
    return body


def events_within(events: Iterable[LogEvent], budget: int) -> tuple[list[Any], bool]:
    """The wire rows of ``events`` that fit ``budget`` bytes of canonical JSON (at least one),
    and whether some were left for the next ``interrogate`` (``since_seq``)."""
    rows: list[Any] = []
    for e in events:
        row = event_to_json(e)
        cost = len(canonical(row)) + 1  # the comma between rows
        if cost > budget and rows:
            return rows, True
        budget -= cost
        rows.append(row)
    return rows, False


__all__ = [
    "MAX_PAGED_REPLY_BYTES",
    "PAGE_OVERHEAD",
    "PageIndex",
    "PagedBody",
    "chunk_bytes",
    "decode_chunk",
    "events_within",
    "join_pages",
    "page_index",
]
