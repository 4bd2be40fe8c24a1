"""One telemetry session on the implant: frames in, frames out, long replies paged (pure).

:class:`ImplantConnection` feeds received frames to a link :class:`~thecal.link.Responder`,
decodes each request body (:func:`~thecal.programmer.operations.decode_command`), enforces
roles with ``Responder.authorize``, keeps the session's staged program and its last paged
reply, and hands every device operation to the
:class:`~thecal.programmer.implant_server.ImplantCommandHandler`.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from thecal.link import (
    EnvelopeError,
    EnvelopeKind,
    ErrorCode,
    LinkError,
    PermissionDenied,
    Responder,
    SessionState,
    decode_envelope,
    response,
)
from thecal.link.frames import FrameType
from thecal.programmer.commands import CommandError, RefusalCode, Reply, ReplyStatus
from thecal.programmer.implant_journal import ServerLogger, ServerLogRecord, Staging, no_log
from thecal.programmer.operations import ReplyPageOp, decode_command
from thecal.programmer.paging import PagedBody

if TYPE_CHECKING:
    from thecal.programmer.implant_server import ImplantCommandHandler


class ImplantConnection:
    """One telemetry session on the implant: frames in, frames out (sans-I/O).

    ``receive(frame)`` returns the frames to send back. Link refusals (malformed, replayed,
    tampered, wrong key) are logged by the responder and answered with an ERROR frame; they
    have no effect on the device. A wrong-role command is refused with a ``forbidden`` reply
    (and the responder's ``denied`` log entry).
    """

    def __init__(
        self,
        handler: "ImplantCommandHandler",
        responder: Responder,
        logger: ServerLogger = no_log,
    ) -> None:
        self.handler = handler
        self.responder = responder
        self.staging = Staging()
        self._log = logger
        self.paged: PagedBody | None = None
        """This session's last reply too long for one frame (its pages are read with
        ``reply_page``); replaced by the next one, dropped with the session."""
        self._handles = 0

    @property
    def closed(self) -> bool:
        return self.responder.state is SessionState.CLOSED

    def end(self, why: str) -> None:
        """The link is gone: discard the staged program (the active one is untouched)."""
        if not self.staging.empty:
            self._log(
                ServerLogRecord(
                    self.handler.serial,
                    self.responder.peer,
                    "session",
                    detail=f"staged program discarded ({why})",
                )
            )
        self.staging = Staging()
        self.paged = None

    def receive(self, data: bytes) -> list[bytes]:
        """Handle one received frame; return frames to send."""
        r = self.responder
        try:
            inbound = r.receive(data)
        except LinkError as exc:
            self._log(ServerLogRecord(self.handler.serial, r.peer, "error", detail=f"link: {exc}"))
            retry = float(getattr(exc, "retry_after_s", 0.0))
            try:
                return [r.error_frame(exc.code, retry_after_s=retry)]
            except LinkError:
                return []
        if inbound.reply is not None:
            return [inbound.reply]
        msg = inbound.message
        if msg is None or msg.type is not FrameType.DATA:
            if self.closed:
                self.end("closed by peer")
            return []
        try:
            env = decode_envelope(msg.payload)
            if env.kind is not EnvelopeKind.REQUEST:
                raise EnvelopeError(ErrorCode.BAD_ENVELOPE, "not a request")
        except EnvelopeError as exc:
            self._log(ServerLogRecord(self.handler.serial, r.peer, "error", detail=str(exc)))
            return [r.error_frame(exc.code)]
        reply = self._command(env.body)
        return [r.seal(response(env.request_id, self._fit(reply)))]

    def _fit(self, reply: Reply) -> bytes:
        """The reply's encoding, or, when longer than a page, its first page (paging)."""
        body = reply.encode()
        page_bytes = self.handler.settings.page_bytes
        if len(body) <= page_bytes:
            return body
        self._handles += 1
        self.paged = PagedBody(self._handles, body, page_bytes)
        self._log(
            ServerLogRecord(
                self.handler.serial,
                self.responder.peer,
                "reply",
                reply.op,
                reply.command_id,
                f"paged: {len(body)} bytes in {self.paged.pages} pages",
            )
        )
        return self.paged.first_reply(reply).encode()

    def _page(self, cmd: ReplyPageOp, now: datetime) -> Reply:
        """Answer ``reply_page {"handle", "page"}`` from this session's paged reply."""
        handle, page, paged = cmd.args.handle, cmd.args.page, self.paged
        if paged is None or handle != paged.handle or not 0 <= page < paged.pages:
            return Reply(
                cmd.op.value,
                cmd.command_id,
                ReplyStatus.REFUSED,
                now,
                RefusalCode.NO_SUCH_PAGE.value,
                f"no page {page} of reply {handle} in this session",
            )
        return Reply(
            cmd.op.value,
            cmd.command_id,
            ReplyStatus.OK,
            now,
            processed=True,
            data={"handle": handle, "page": page, "chunk": paged.chunk(page)},
        )

    def _command(self, body: bytes) -> Reply:
        r, h = self.responder, self.handler
        now = h.device.read_clock()
        try:
            cmd = decode_command(body)
        except CommandError as exc:
            self._log(ServerLogRecord(h.serial, r.peer, "error", exc.op, exc.command_id, str(exc)))
            return Reply(
                exc.op,
                exc.command_id,
                ReplyStatus.ERROR,
                now,
                RefusalCode.BAD_COMMAND.value,
                str(exc),
            )
        if isinstance(cmd, ReplyPageOp):
            # The rest of a reply this session was already authorised to receive (any role):
            # session state, not the device, so nothing to authorise again or journal.
            return self._page(cmd, now)
        try:
            role = r.authorize(cmd.op.value)
        except PermissionDenied as exc:
            self._log(
                ServerLogRecord(h.serial, r.peer, "refused", cmd.op, cmd.command_id, str(exc))
            )
            return Reply(
                cmd.op.value,
                cmd.command_id,
                ReplyStatus.REFUSED,
                now,
                RefusalCode.FORBIDDEN.value,
                exc.detail,
            )
        return h.execute(cmd, role, self.staging, r.peer)


__all__ = ["ImplantConnection"]
