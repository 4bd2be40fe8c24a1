"""The implant end of the command layer (pure: no sockets, no clock).

:class:`ImplantCommandHandler` executes decoded commands against one implant — a
:class:`DrugPump` or a :class:`SpinalCordStimulator` — and keeps the implant's command
journal (command id → stored reply), so a retried command is answered from the journal and
never executed twice. Each operation has its own handler
(:mod:`.implant_ops` for a pump, :mod:`.implant_stim_ops` for a stimulator, dispatched by
the decoded operation's model type); an operation of the other family is refused
(``wrong-family``) without reaching the device. One telemetry session
is an :class:`~thecal.programmer.implant_connection.ImplantConnection`; the journal, staging
and settings are in :mod:`.implant_journal`. The socket loop lives in
:mod:`thecal.adapters.implant_server`.

Rules the implant applies whatever the programmer believes:

* **Staleness**: a command whose ``issued_at`` differs from the implant clock by more than
  ``max_command_age`` (either way) is refused (``stale``) without effect.
* **Retries**: a known command id returns the stored reply (``replayed = true``); an id reused
  for another operation or by another role is refused (``id-reused``).
* **Program write**: ``program_stage`` stores a decoded program for this session only;
  ``program_read_staged`` returns it as the implant understood it; ``program_commit`` names the
  staged program's digest and writes it in one firmware call. A session that ends before the
  commit discards the staged program: the old program stays active, never a mix.
* **Roles**: the patient role may use ``status`` and ``patient_bolus`` only, the stimulator's
  remote ``status``, ``set_amplitude``, ``select_group`` and ``stimulation`` (link roles).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from thecal.devices.pump import DrugPump
from thecal.devices.refusals import CommandResult
from thecal.devices.stimulator import SpinalCordStimulator
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
)
from thecal.programmer.implant_connection import ImplantConnection
from thecal.programmer.implant_journal import (
    Journal,
    ServerLogger,
    ServerLogRecord,
    ServerSettings,
    Staging,
    no_log,
)
from thecal.programmer.implant_ops import HANDLERS, Call, PhysicalAccess
from thecal.programmer.implant_stim_ops import STIMULATOR_HANDLERS, StimCall
from thecal.programmer.operations import Operation, as_operation
from thecal.programmer.wire_device import result_to_json
from thecal.programmer.wire_program import DrugLookup
from thecal.units import InputError


def _hours(q: Qty) -> float:
    return float(q.to("h").magnitude)


class ImplantCommandHandler:
    """Executes commands on one device. Not thread-safe: the caller serialises calls.

    ``drugs`` resolves drug names (a pump's provisioned library; None for a stimulator);
    ``advance`` (optional) moves the simulated device clock before each command (see the
    adapter).
    """

    def __init__(
        self,
        device: DrugPump | SpinalCordStimulator,
        drugs: DrugLookup | None,
        settings: ServerSettings,
        *,
        logger: ServerLogger = no_log,
        advance: Callable[[], None] | None = None,
    ) -> None:
        self.device = device
        # The family is decided once: isinstance on a protocol checks every member.
        self._stimulator = device if isinstance(device, SpinalCordStimulator) else None
        self._pump = device if self._stimulator is None and isinstance(device, DrugPump) else None
        if self._pump is None and self._stimulator is None:
            raise TypeError("the device is neither a drug pump nor a spinal cord stimulator")
        if self._pump is not None and drugs is None:
            raise ValueError("a drug pump needs the implant's drug library (drugs)")
        self.drugs = drugs
        self.settings = settings
        self._log = logger
        self._advance = advance
        self._journal = Journal(settings.journal_size)
        self.executions: dict[str, int] = {}
        """Times each command id reached the device (tests assert "never twice")."""

    @property
    def serial(self) -> str:
        return self.device.serial

    def journal(self, ops: frozenset[Op] | None = None) -> list[dict[str, Any]]:
        """Stored outcomes, oldest first (optionally only ``ops``): the implant's record."""
        return self._journal.entries(ops)

    # -- entry point -------------------------------------------------------------------------

    def execute(
        self, cmd: Operation | Command, role: Role, staging: Staging, peer: str = ""
    ) -> Reply:
        """Run ``cmd`` for an authorised ``role``; return the reply (journaled if it acts).

        A :class:`Command` as sent is first decoded as the link would decode it."""
        if self._advance is not None:
            self._advance()
        now = self.device.read_clock()
        self._log(ServerLogRecord(self.serial, peer, "command", cmd.op, cmd.command_id))
        try:
            op = as_operation(cmd)
        except CommandError as exc:
            return self._refuse(
                cmd, now, RefusalCode.BAD_COMMAND, str(exc), peer, ReplyStatus.ERROR
            )
        stored = self._journal.get(op.command_id)
        if stored is not None:
            if stored.op is not op.op or stored.role is not role:
                return self._refuse(op, now, RefusalCode.ID_REUSED, "command id already used", peer)
            self._log(ServerLogRecord(self.serial, peer, "reply", op.op, op.command_id, "stored"))
            return stored.reply.model_copy(update={"replayed": True})
        if op.issued_at is not None:
            age_h = (now - op.issued_at).total_seconds() / 3600.0
            if abs(age_h) > _hours(self.settings.max_command_age):
                return self._refuse(
                    op,
                    now,
                    RefusalCode.STALE,
                    f"issued at {op.issued_at.isoformat()}, implant clock "
                    f"{now.isoformat()}: outside ±{self.settings.max_command_age:~P}",
                    peer,
                )
        refusal = self._family_refusal(op)
        if refusal is not None:
            return self._refuse(op, now, *refusal, peer)
        try:
            reply = self._dispatch(op, role, staging, now)
        except (CommandError, InputError) as exc:
            message = f"{exc.field}: {exc.message}"
            return self._refuse(op, now, RefusalCode.BAD_COMMAND, message, peer, ReplyStatus.ERROR)
        if op.op not in READ_ONLY_OPS:
            self._journal.record(op.command_id, op.op, role, reply)
        self._log(
            ServerLogRecord(self.serial, peer, "reply", op.op, op.command_id, reply.code or "ok")
        )
        return reply

    def _family_refusal(self, op: Operation) -> tuple[RefusalCode, str] | None:
        """Why this implant does not handle ``op`` (None: it does)."""
        mine, other, family = (
            (STIMULATOR_HANDLERS, HANDLERS, "spinal cord stimulator")
            if self._stimulator is not None
            else (HANDLERS, STIMULATOR_HANDLERS, "drug pump")
        )
        if type(op) in mine:
            return None
        if type(op) in other:
            return RefusalCode.WRONG_FAMILY, f"{op.op.value} is not an operation of a {family}"
        return RefusalCode.UNSUPPORTED, f"{op.op.value} is not a device operation"

    def _dispatch(self, op: Operation, role: Role, staging: Staging, now: datetime) -> Reply:
        if self._stimulator is not None:
            stim = StimCall(
                self._stimulator, self.settings, self._journal, role, staging, now,
                self._device_reply,
            )  # fmt: skip
            return STIMULATOR_HANDLERS[type(op)](stim, op)
        assert self._pump is not None and self.drugs is not None  # checked in __init__
        call = Call(
            device=self._pump,
            drugs=self.drugs,
            settings=self.settings,
            journal=self._journal,
            role=role,
            staging=staging,
            now=now,
            device_reply=self._device_reply,
        )
        return HANDLERS[type(op)](call, op)

    def _refuse(
        self,
        cmd: Operation | Command,
        now: datetime,
        code: RefusalCode,
        message: str,
        peer: str,
        status: ReplyStatus = ReplyStatus.REFUSED,
    ) -> Reply:
        self._log(ServerLogRecord(self.serial, peer, "refused", cmd.op, cmd.command_id, message))
        return Reply(cmd.op.value, cmd.command_id, status, now, code.value, message)

    def _device_reply(
        self, cmd: Operation, r: CommandResult, extra: dict[str, Any] | None = None
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


__all__ = [
    "ImplantCommandHandler",
    "ImplantConnection",
    "PhysicalAccess",
    "ServerLogRecord",
    "ServerLogger",
    "ServerSettings",
    "Staging",
]
