"""The implant end of the command layer (pure: no sockets, no clock).

:class:`ImplantCommandHandler` executes decoded commands against one :class:`DrugPump`
and keeps the implant's command journal (command id → stored reply), so a retried command is
answered from the journal and never executed twice. :class:`ImplantConnection` is one telemetry
session: it feeds received frames to a link :class:`~thecal.link.Responder`, enforces roles with
``Responder.authorize``, keeps the session's *staged* program apart from the active one, and
returns the frames to send. The socket loop lives in :mod:`thecal.adapters.implant_server`.

Rules the implant applies whatever the programmer believes:

* **Staleness**: a command whose ``issued_at`` differs from the implant clock by more than
  ``max_command_age`` (either way) is refused (``stale``) without effect.
* **Retries**: a known command id returns the stored reply (``replayed = true``); an id reused
  for another operation or by another role is refused (``id-reused``).
* **Program write**: ``program_stage`` stores a decoded program for this session only;
  ``program_read_staged`` returns it as the implant understood it; ``program_commit`` names the
  staged program's digest and writes it in one firmware call. A session that ends before the
  commit discards the staged program: the old program stays active, never a mix.
* **Roles**: the patient role may use ``status`` and ``patient_bolus`` only (link roles).
"""

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from thecal.devices.alarms import AlarmCondition
from thecal.devices.pump import DrugPump, Program
from thecal.devices.refusals import CommandResult
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
from thecal.link.roles import Role
from thecal.programmer.commands import (
    READ_ONLY_OPS,
    Command,
    CommandError,
    Op,
    Qty,
    RefusalCode,
    Reply,
    ReplyStatus,
    canonical,
    decode_command,
    program_digest,
    quantity_from_json,
    quantity_json,
    time_from_json,
)
from thecal.programmer.paging import PAGE_OVERHEAD, PagedBody
from thecal.programmer.wire_device import event_to_json, result_to_json, status_to_json
from thecal.programmer.wire_program import DrugLookup, program_from_json, program_to_json
from thecal.units import Dimension, InputError, check_dimension


@runtime_checkable
class PhysicalAccess(Protocol):
    """What a simulated implant lets the *needle* do (a real implant is refilled by hand)."""

    def withdraw_residual(self) -> Qty: ...

    def fill_reservoir(self, volume: Qty) -> None: ...


@dataclass(frozen=True)
class ServerSettings:
    """``max_command_age``: staleness bound (time); ``journal_size``: stored replies kept;
    ``page_bytes``: the longest reply sent whole (frames are ≤ 64 KiB): an interrogation fills
    it with log events, and any longer reply is paged (:mod:`thecal.programmer.paging`)."""

    max_command_age: Qty
    journal_size: int = 256
    page_bytes: int = 48_000

    def __post_init__(self) -> None:
        check_dimension(self.max_command_age, "max_command_age", Dimension.TIME)
        if self.max_command_age.magnitude <= 0:
            raise InputError("max_command_age", "must be greater than zero", "e.g. '60 s'")
        # 60 000 + the reply envelope and frame overhead stays below the 64 KiB frame.
        if self.journal_size < 1 or not 2 * PAGE_OVERHEAD <= self.page_bytes <= 60_000:
            raise ValueError(f"journal_size >= 1 and {2 * PAGE_OVERHEAD} <= page_bytes <= 60000")


@dataclass(frozen=True)
class ServerLogRecord:
    """One implant-side command-layer log record (the link logs its own frames)."""

    serial: str
    peer: str
    event: str  # command | reply | refused | error | session
    op: str = ""
    command_id: str = ""
    detail: str = ""


ServerLogger = Callable[[ServerLogRecord], None]


def _no_log(_r: ServerLogRecord) -> None:
    return None


@dataclass
class Staging:
    """The staged program of one session (never the active one)."""

    program: Program | None = None
    digest: str = ""
    document: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _JournalEntry:
    op: Op
    role: Role
    reply: Reply


def _hours(q: Qty) -> float:
    return float(q.to("h").magnitude)


class ImplantCommandHandler:
    """Executes commands on one device. Not thread-safe: the caller serialises calls.

    ``drugs`` resolves drug names (the implant's provisioned library); ``advance`` (optional)
    moves the simulated device clock before each command (see the adapter).
    """

    def __init__(
        self,
        device: DrugPump,
        drugs: DrugLookup,
        settings: ServerSettings,
        *,
        logger: ServerLogger = _no_log,
        advance: Callable[[], None] | None = None,
    ) -> None:
        self.device = device
        self.drugs = drugs
        self.settings = settings
        self._log = logger
        self._advance = advance
        self._journal: OrderedDict[str, _JournalEntry] = OrderedDict()
        self.executions: dict[str, int] = {}
        """Times each command id reached the device (tests assert "never twice")."""

    @property
    def serial(self) -> str:
        return self.device.serial

    def journal(self, ops: frozenset[Op] | None = None) -> list[dict[str, Any]]:
        """Stored outcomes, oldest first (optionally only ``ops``): the implant's record."""
        return [
            {
                "id": cid,
                "op": e.op.value,
                "code": e.reply.code,
                "processed": e.reply.processed,
                "state_changed": e.reply.state_changed,
                "device_time": e.reply.device_time.isoformat(),
                "log_seq": e.reply.data.get("log_seq"),
            }
            for cid, e in self._journal.items()
            if ops is None or e.op in ops
        ]

    # -- entry point -------------------------------------------------------------------------

    def execute(self, cmd: Command, role: Role, staging: Staging, peer: str = "") -> Reply:
        """Run ``cmd`` for an authorised ``role``; return the reply (journaled if it acts)."""
        if self._advance is not None:
            self._advance()
        now = self.device.read_clock()
        self._log(ServerLogRecord(self.serial, peer, "command", cmd.op, cmd.command_id))
        stored = self._journal.get(cmd.command_id)
        if stored is not None:
            if stored.op is not cmd.op or stored.role is not role:
                return self._refuse(
                    cmd, now, RefusalCode.ID_REUSED, "command id already used", peer
                )
            self._log(ServerLogRecord(self.serial, peer, "reply", cmd.op, cmd.command_id, "stored"))
            return replace(stored.reply, replayed=True)
        if cmd.issued_at is not None:
            age_h = (now - cmd.issued_at).total_seconds() / 3600.0
            if abs(age_h) > _hours(self.settings.max_command_age):
                return self._refuse(
                    cmd,
                    now,
                    RefusalCode.STALE,
                    f"issued at {cmd.issued_at.isoformat()}, implant clock "
                    f"{now.isoformat()}: outside ±{self.settings.max_command_age:~P}",
                    peer,
                )
        try:
            reply = self._run(cmd, role, staging, now)
        except CommandError as exc:
            return self._refuse(
                cmd, now, RefusalCode.BAD_COMMAND, str(exc), peer, ReplyStatus.ERROR
            )
        except InputError as exc:
            return self._refuse(
                cmd,
                now,
                RefusalCode.BAD_COMMAND,
                f"{exc.field}: {exc.message}",
                peer,
                ReplyStatus.ERROR,
            )
        if cmd.op not in READ_ONLY_OPS:
            self._journal[cmd.command_id] = _JournalEntry(cmd.op, role, reply)
            while len(self._journal) > self.settings.journal_size:
                self._journal.popitem(last=False)
        self._log(
            ServerLogRecord(self.serial, peer, "reply", cmd.op, cmd.command_id, reply.code or "ok")
        )
        return reply

    def _refuse(
        self,
        cmd: Command,
        now: datetime,
        code: RefusalCode,
        message: str,
        peer: str,
        status: ReplyStatus = ReplyStatus.REFUSED,
    ) -> Reply:
        self._log(ServerLogRecord(self.serial, peer, "refused", cmd.op, cmd.command_id, message))
        return Reply(cmd.op.value, cmd.command_id, status, now, code.value, message)

    def _device_reply(
        self, cmd: Command, r: CommandResult, extra: dict[str, Any] | None = None
    ) -> Reply:
        self.executions[cmd.command_id] = self.executions.get(cmd.command_id, 0) + 1
        refused = r.refused or (r.processed and not r.state_changed and bool(r.findings))
        data: dict[str, Any] = {"result": result_to_json(r), "log_seq": self._last_seq()}
        data.update(extra or {})
        return Reply(
            cmd.op.value,
            cmd.command_id,
            ReplyStatus.OK,
            self.device.read_clock(),
            (r.refusal or RefusalCode.DEVICE_REFUSED).value if refused else "",
            r.reason,
            r.processed,
            r.state_changed,
            data=data,
        )

    def _last_seq(self) -> int:
        ev = self.device.events(0)
        return ev[-1].seq if ev else 0

    def _ok(self, cmd: Command, now: datetime, data: dict[str, Any]) -> Reply:
        return Reply(cmd.op.value, cmd.command_id, ReplyStatus.OK, now, processed=True, data=data)

    # -- operations ----------------------------------------------------------------------------

    def _run(self, cmd: Command, role: Role, staging: Staging, now: datetime) -> Reply:
        a, dev = cmd.args, self.device
        if cmd.op is Op.STATUS:
            return self._ok(cmd, now, self._status(role))
        if cmd.op is Op.INTERROGATE:
            return self._ok(cmd, now, self._interrogate(a))
        if cmd.op is Op.PROGRAM_STAGE:
            program = program_from_json(a.get("program"), self.drugs)
            doc = program_to_json(program)  # as the implant understood it
            staging.program, staging.document = program, doc
            staging.digest = program_digest(doc)
            return self._ok(cmd, now, {"digest": staging.digest})
        if cmd.op is Op.PROGRAM_READ_STAGED:
            if staging.program is None:
                return Reply(
                    cmd.op.value,
                    cmd.command_id,
                    ReplyStatus.REFUSED,
                    now,
                    RefusalCode.NOTHING_STAGED.value,
                    "no program staged",
                )
            return self._ok(cmd, now, {"program": staging.document, "digest": staging.digest})
        if cmd.op is Op.PROGRAM_COMMIT:
            digest = a.get("digest")
            if staging.program is None or digest != staging.digest:
                return Reply(
                    cmd.op.value,
                    cmd.command_id,
                    ReplyStatus.REFUSED,
                    now,
                    RefusalCode.STAGED_MISMATCH.value,
                    "the staged program is not the one named for commit",
                )
            result = dev.write_program(staging.program)
            if result.state_changed:  # a refused commit changes nothing, not even the staging
                staging.program, staging.digest, staging.document = None, "", {}
            return self._device_reply(cmd, result, {"digest": digest})
        if cmd.op is Op.REFILL:
            return self._refill(cmd, a)
        if cmd.op in (Op.CLINICIAN_BOLUS, Op.PRIMING_BOLUS, Op.BRIDGE_BOLUS):
            volume = quantity_from_json(a.get("volume"), "args.volume")
            duration = quantity_from_json(a.get("duration"), "args.duration")
            check_dimension(volume, "args.volume", Dimension.VOLUME)
            check_dimension(duration, "args.duration", Dimension.TIME)
            return self._device_reply(cmd, dev.clinician_bolus(volume, duration))
        if cmd.op is Op.PATIENT_BOLUS:
            return self._device_reply(cmd, dev.patient_bolus_request())
        if cmd.op is Op.ACKNOWLEDGE_ALARM:
            cond = a.get("condition")
            try:
                condition = None if cond is None else AlarmCondition(int(cond))
            except (TypeError, ValueError):
                raise CommandError("args.condition", f"unknown alarm {cond!r}") from None
            return self._device_reply(cmd, dev.acknowledge_alarm(condition))
        if cmd.op is Op.ALARM_TEST:
            return self._device_reply(cmd, dev.alarm_test())
        if cmd.op is Op.CLOCK_READ:
            return self._ok(cmd, now, {"device_time": dev.read_clock().isoformat()})
        if cmd.op is Op.CLOCK_SET:
            target = time_from_json(a.get("device_time"), "args.device_time")
            return self._device_reply(cmd, dev.set_clock(target))
        if cmd.op is Op.POST_MRI_RESUME:
            return self._device_reply(cmd, dev.post_mri_resume())
        raise CommandError("op", f"{cmd.op.value} not handled")  # pragma: no cover

    def _refill(self, cmd: Command, a: Any) -> Reply:
        """Validate, then act: a refused refill leaves the reservoir as it was.

        The firmware decides whether the volume is one the reservoir can hold (and logs a
        refusal). Only once it has accepted the record does the simulated needle withdraw the
        residual and fill: the same instant of simulated time, and a fill the firmware accepted
        (0 < volume ≤ capacity) always fits an emptied reservoir."""
        volume = quantity_from_json(a.get("volume"), "args.volume")
        check_dimension(volume, "args.volume", Dimension.VOLUME)
        needle = a.get("simulate_needle", True)
        if not isinstance(needle, bool):
            raise CommandError("args.simulate_needle", "expected true or false")
        dev = self.device
        result = dev.refill(volume)
        extra: dict[str, Any] = {}
        if result.state_changed and needle and isinstance(dev, PhysicalAccess):
            # Simulator only: the needle's work (a real implant is refilled by hand).
            extra["withdrawn"] = quantity_json(dev.withdraw_residual().to("mL"))
            dev.fill_reservoir(volume)
        return self._device_reply(cmd, result, extra)

    def _status(self, role: Role) -> dict[str, Any]:
        # Patient status is a telemetry-free peek at what a controller may show (no program
        # details, no log); the clinician's status is the full interrogation status.
        s = self.device.interrogate()
        if role is Role.CLINICIAN:
            return {"status": status_to_json(s)}
        ptb = s.program.patient_bolus if s.program else None
        return {
            "delivering": s.delivering,
            "delivery": s.delivery.value,
            "device_time": s.device_time.isoformat(),
            "reservoir_estimate": quantity_json(s.reservoir_estimate),
            "alarms": [{"condition": int(a.condition), "name": a.condition.name} for a in s.alarms],
            "patient_boluses_last_24h": s.patient_boluses_last_24h,
            "patient_bolus": None
            if ptb is None
            else {
                "volume": quantity_json(ptb.volume),
                "lockout": quantity_json(ptb.lockout),
                "max_per_day": ptb.max_per_day,
            },
            "journal": self.journal(frozenset({Op.PATIENT_BOLUS})),
        }

    def _interrogate(self, a: Any) -> dict[str, Any]:
        since = a.get("since_seq", 0)
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            raise CommandError("args.since_seq", "expected an integer >= 0")
        include_status = a.get("status", True) is not False
        out: dict[str, Any] = {}
        budget = self.settings.page_bytes
        if include_status:
            out["status"] = status_to_json(self.device.interrogate())
            out["journal"] = self.journal()
            budget -= len(canonical(out))
        events: list[Any] = []
        more = False
        for e in self.device.events(since):
            row = event_to_json(e)
            cost = len(canonical(row)) + 1
            if cost > budget and events:
                more = True
                break
            budget -= cost
            events.append(row)
        out["events"] = events
        out["more"] = more
        out["serial"] = self.serial
        return out


class ImplantConnection:
    """One telemetry session on the implant: frames in, frames out (sans-I/O).

    ``receive(frame)`` returns the frames to send back. Link refusals (malformed, replayed,
    tampered, wrong key) are logged by the responder and answered with an ERROR frame; they
    have no effect on the device. A wrong-role command is refused with a ``forbidden`` reply
    (and the responder's ``denied`` log entry).
    """

    def __init__(
        self, handler: ImplantCommandHandler, responder: Responder, logger: ServerLogger = _no_log
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
        if self.staging.program is not None:
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

    def _page(self, cmd: Command, now: datetime) -> Reply:
        """Answer ``reply_page {"handle", "page"}`` from this session's paged reply."""
        handle, page = cmd.args.get("handle"), cmd.args.get("page")
        paged = self.paged
        for name, value in (("handle", handle), ("page", page)):
            if isinstance(value, bool) or not isinstance(value, int):
                return Reply(
                    cmd.op.value,
                    cmd.command_id,
                    ReplyStatus.ERROR,
                    now,
                    RefusalCode.BAD_COMMAND.value,
                    f"args.{name}: expected an integer",
                )
        assert isinstance(handle, int) and isinstance(page, int)
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
            self._log(ServerLogRecord(h.serial, r.peer, "error", detail=str(exc)))
            return Reply("", "", ReplyStatus.ERROR, now, RefusalCode.BAD_COMMAND.value, str(exc))
        if cmd.op is Op.REPLY_PAGE:
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


__all__ = [
    "ImplantCommandHandler",
    "ImplantConnection",
    "PhysicalAccess",
    "ServerLogRecord",
    "ServerLogger",
    "ServerSettings",
    "Staging",
]
