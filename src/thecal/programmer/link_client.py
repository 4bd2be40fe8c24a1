"""The programmer's end of the command layer over an authenticated link session.

:class:`LinkClient` turns ``call(op, args)`` into a sealed request envelope, waits for the
matching response and decodes the reply. If no matching response arrives within the
acknowledgement bound (or the link breaks after the request was sent) it raises
:class:`AckLost`: the command *may* have run. The caller (the clinician or patient service)
then treats delivery as uncertain until it has re-read the implant's record.

The transport is any object with ``send``/``receive``/``close`` (in-process, TCP, faulty); the
clock is injected (monotonic seconds), so this module does no I/O of its own.

**Logging.** Every send, receive and error is reported to a :data:`ClientLogger` as a
:class:`ClientLogRecord` carrying the device serial (the implant side does the same with
:class:`~thecal.programmer.implant_server.ServerLogRecord`). The default,
:func:`log_to_python`, hands records to the standard ``logging`` module (logger
``thecal.programmer``); where they go is configured by the entry point.
:func:`log_link_event` does the same for the link session's own events (pass it to the
:class:`~thecal.link.Initiator`).
"""

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from thecal.link import (
    ErrorCode,
    FrameType,
    Initiator,
    LinkError,
    LinkEvent,
    RequestTracker,
    Role,
    TransportError,
    decode_envelope,
)
from thecal.programmer.commands import (
    READ_ONLY_OPS,
    Command,
    CommandError,
    Op,
    Reply,
    ReplyStatus,
    decode_reply,
)
from thecal.programmer.paging import decode_chunk, join_pages, page_index

log = logging.getLogger("thecal.programmer")


@dataclass(frozen=True)
class ClientLogRecord:
    """One programmer-side command-layer log record (the link session logs its own frames).

    ``event``: ``connect`` | ``send`` | ``receive`` | ``refused`` | ``error`` | ``ack-lost``."""

    serial: str
    peer: str
    event: str
    op: str = ""
    command_id: str = ""
    detail: str = ""


ClientLogger = Callable[[ClientLogRecord], None]

_WARN_EVENTS = frozenset({"refused", "error", "ack-lost"})


def log_to_python(record: ClientLogRecord) -> None:
    """Log ``record`` on the ``thecal.programmer`` logger (warning for refusals and errors)."""
    level = logging.WARNING if record.event in _WARN_EVENTS else logging.INFO
    log.log(
        level,
        "serial=%s peer=%s %s op=%s id=%s %s",
        record.serial,
        record.peer,
        record.event,
        record.op,
        record.command_id,
        record.detail,
    )


def log_link_event(event: LinkEvent) -> None:
    """Log one programmer-side link event with the serial (debug for traffic)."""
    level = logging.WARNING if event.event in ("reject", "peer-error") else logging.DEBUG
    log.log(level, "%s", event.describe())


class FrameTransport(Protocol):
    """Moves whole frames (see :class:`thecal.link.transport.Transport`)."""

    def send(self, frame: bytes) -> None: ...

    def receive(self, timeout_s: float) -> bytes: ...

    def close(self) -> None: ...


class AckLost(Exception):
    """No acknowledgement for ``command``: its effect on the implant is unknown."""

    def __init__(self, command: Command, why: str) -> None:
        self.command = command
        super().__init__(f"no acknowledgement for {command.op.value} ({command.command_id}): {why}")


class LinkRefused(Exception):
    """The implant answered with a link ERROR (or closed the session)."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        self.code = code
        super().__init__(f"{code.name}: {detail}" if detail else code.name)


class CommandChannel(Protocol):
    """What the services need: one call per command (the abstract link client)."""

    def call(
        self, op: Op, args: Mapping[str, Any] | None = None, *, command_id: str | None = None
    ) -> Reply: ...


def new_command_id() -> str:
    """128 random bits as hex: unique across sessions and programmers."""
    return secrets.token_hex(16)


class LinkClient:
    """Sends commands over one established (or to-be-established) initiator session."""

    def __init__(
        self,
        transport: FrameTransport,
        initiator: Initiator,
        now: Callable[[], float],
        *,
        ack_timeout_s: float,
        new_id: Callable[[], str] = new_command_id,
        logger: ClientLogger = log_to_python,
    ) -> None:
        self.transport = transport
        self.initiator = initiator
        self._now = now
        self.ack_timeout_s = ack_timeout_s
        self.tracker = RequestTracker(now, ack_timeout_s)
        self._new_id = new_id
        self._device_ref: tuple[datetime, float] | None = None
        self._log = logger
        self.sent: list[Command] = []
        """Every command sent, in order (for logs and tests)."""

    @property
    def serial(self) -> str:
        return self.initiator.serial

    def _record(self, event: str, cmd: Command | None = None, detail: str = "") -> None:
        self._log(
            ClientLogRecord(
                self.serial,
                self.initiator.peer,
                event,
                cmd.op.value if cmd else "",
                cmd.command_id if cmd else "",
                detail,
            )
        )

    def connect(self, timeout_s: float) -> None:
        """Run the handshake (HELLO, CHALLENGE, RESPONSE) and read the implant clock."""
        role = self.initiator.role
        self._record("connect", detail=f"role={role.name.lower() if role else '-'}")
        try:
            self.transport.send(self.initiator.hello())
            self.transport.send(self.initiator.receive_challenge(self.transport.receive(timeout_s)))
        except LinkError as exc:
            self._record("error", detail=f"handshake refused: {exc}")
            raise LinkRefused(exc.code, exc.detail) from exc
        except TransportError as exc:
            self._record("error", detail=f"handshake failed: {exc}")
            raise
        self.call(self._sync_op())

    def _sync_op(self) -> Op:
        # A patient controller or remote may not read the clock; its status carries the device time.
        return Op.CLOCK_READ if self.initiator.role is Role.CLINICIAN else Op.STATUS

    def close(self) -> None:
        """Send CLOSE (best effort) and close the transport."""
        try:
            if self.initiator.established:
                self.transport.send(self.initiator.close_frame())
        except (LinkError, TransportError):
            pass
        self.transport.close()

    def device_time(self) -> datetime | None:
        """Estimate of the implant clock: last reply's device time + elapsed seconds."""
        if self._device_ref is None:
            return None
        t, at = self._device_ref
        return t + timedelta(seconds=self._now() - at)

    def call(
        self, op: Op, args: Mapping[str, Any] | None = None, *, command_id: str | None = None
    ) -> Reply:
        """Send one command and wait for its reply. ``command_id``: reuse it to retry."""
        if op not in READ_ONLY_OPS and self._device_ref is None:
            self.call(self._sync_op())
        cmd = Command(op, command_id or self._new_id(), self.device_time(), dict(args or {}))
        request_id, wire = self.tracker.new_request(cmd.encode())
        self.sent.append(cmd)
        try:
            self.transport.send(self.initiator.seal(wire))
        except TransportError as exc:
            raise self._lost(cmd, f"link failed while sending: {exc}") from exc
        self._record("send", cmd, f"request={request_id}")
        deadline = self._now() + self.ack_timeout_s
        while True:
            remaining = deadline - self._now()
            if remaining <= 0:
                raise self._lost(cmd, "timed out")
            try:
                data = self.transport.receive(remaining)
            except TransportError as exc:
                raise self._lost(cmd, str(exc)) from exc
            try:
                msg = self.initiator.open(data)
            except LinkError as exc:
                # Refused by the session: corrupt, replayed, reordered. Keep waiting.
                self._record("error", cmd, f"frame refused: {exc}")
                continue
            if msg.type is FrameType.ERROR:
                info = msg.error()
                self._record("error", cmd, f"link error {info.code.name}: {info.detail}")
                raise LinkRefused(info.code, info.detail)
            if msg.type is FrameType.CLOSE:
                raise self._lost(cmd, "implant closed the session")
            try:
                env = decode_envelope(msg.payload)
            except LinkError as exc:
                self._record("error", cmd, f"bad envelope: {exc}")
                continue
            pending = self.tracker.match(env)
            if pending is None or pending.request_id != request_id:
                # A duplicate or an answer to an older, abandoned request.
                self._record("error", cmd, f"unmatched response {env.request_id} ignored")
                continue
            try:
                reply = decode_reply(env.body)
            except CommandError as exc:
                raise self._lost(cmd, f"undecodable reply: {exc}") from exc
            self._device_ref = (reply.device_time, self._now())
            if reply.status is ReplyStatus.PAGED:
                reply = self._read_pages(cmd, reply)
            status = reply.code or reply.status.value
            self._record(
                "receive" if reply.status is ReplyStatus.OK else "refused",
                cmd,
                f"{status}{' (replayed)' if reply.replayed else ''} {reply.message}".rstrip(),
            )
            return reply

    def _read_pages(self, cmd: Command, first: Reply) -> Reply:
        """The full reply behind a ``paged`` one: ask for pages 1 … n − 1, join and check them.

        A page that cannot be read leaves the command's reply unknown: :class:`AckLost` (the
        command ran — for an acting one, re-read the implant's record before dosing again)."""
        try:
            index = page_index(first.data)
            chunks = [index.first]
            for page in range(1, index.pages):
                part = self.call(Op.REPLY_PAGE, {"handle": index.handle, "page": page})
                if part.status is not ReplyStatus.OK or part.data.get("page") != page:
                    raise CommandError("reply_page", f"page {page}: {part.code} {part.message}")
                chunks.append(decode_chunk(part.data.get("chunk"), "reply_page.chunk"))
            reply = decode_reply(join_pages(index, chunks))
        except CommandError as exc:
            raise self._lost(cmd, f"paged reply unreadable: {exc}") from exc
        if reply.command_id != first.command_id or reply.status is ReplyStatus.PAGED:
            raise self._lost(cmd, "paged reply does not answer this command")
        self._record("receive", cmd, f"paged reply: {index.size} bytes in {index.pages} pages")
        return reply

    def _lost(self, cmd: Command, why: str) -> AckLost:
        self._record("ack-lost", cmd, why)
        return AckLost(cmd, why)


__all__ = [
    "AckLost",
    "ClientLogRecord",
    "ClientLogger",
    "CommandChannel",
    "FrameTransport",
    "LinkClient",
    "LinkRefused",
    "log_link_event",
    "log_to_python",
    "new_command_id",
]
