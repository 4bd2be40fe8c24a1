"""Patient controller service: bolus request and status, with clear refusals (pure).

The implant decides: lockout and daily maximum are its rules (the controller only asks). A lost
acknowledgement makes the request uncertain; the controller then refuses new requests until a
status read finds *that request's command id* in the implant's journal, which says whether it
ran — never a second dose by a blind retry. A status whose journal does not hold the id leaves
the request uncertain (it may still be in flight, or the journal may have moved on).
"""

from dataclasses import dataclass
from typing import Any

from thecal.devices.refusals import DeviceRefusal
from thecal.devices.states import DeliveryState
from thecal.programmer.commands import (
    CommandError,
    Op,
    Qty,
    RefusalCode,
    Reply,
    ReplyStatus,
    quantity_from_json,
)
from thecal.programmer.link_client import AckLost, CommandChannel
from thecal.programmer.pending import PendingCommand


@dataclass(frozen=True)
class PatientStatus:
    """``uncertain``: a request's outcome is still unknown after this read; ``settled``: what
    the implant's journal says about the request that was uncertain before it (if found)."""

    delivery: DeliveryState
    reservoir_estimate: Qty
    alarms: tuple[str, ...]
    boluses_last_24h: int
    max_per_day: int | None
    lockout: Qty | None
    uncertain: bool = False
    settled: "SettledRequest | None" = None

    @property
    def delivering(self) -> bool:
        return self.delivery is DeliveryState.DELIVERING


@dataclass(frozen=True)
class SettledRequest:
    """The implant's journal entry for a formerly uncertain request."""

    command_id: str
    granted: bool
    code: str


@dataclass(frozen=True)
class PatientBolusOutcome:
    """``granted`` or not; ``reason`` is a stable code (a :class:`DeviceRefusal` or
    :class:`RefusalCode` value, or ``uncertain``) and ``message`` a sentence for the patient."""

    granted: bool
    reason: str
    message: str
    reply: Reply | None = None


_MESSAGES = {
    DeviceRefusal.LOCKOUT.value: (
        "Too soon after your last dose: wait for the lockout time to pass."
    ),
    DeviceRefusal.MAX_PER_DAY.value: "You have had the most doses allowed in 24 hours.",
    RefusalCode.FORBIDDEN.value: "This controller may not do that.",
}


class PatientController:
    def __init__(self, channel: CommandChannel) -> None:
        self.channel = channel
        self.uncertain: PendingCommand | None = None
        """The request whose acknowledgement was lost, until the implant's journal settles it."""

    @property
    def uncertain_id(self) -> str | None:
        """The uncertain request's command id (None when nothing is uncertain)."""
        return None if self.uncertain is None else self.uncertain.command_id

    def status(self) -> PatientStatus:
        """The implant's status as a patient may see it; settles an uncertain request."""
        reply = self.channel.call(Op.STATUS)
        if reply.status is not ReplyStatus.OK:
            raise PermissionError(reply.message or reply.code)
        d: dict[str, Any] = dict(reply.data)
        settled = None
        pending = self.uncertain
        if pending is not None:
            # Only the implant's record of *this* command settles it: any other entry (or none)
            # says nothing about whether our request ran.
            journal = d.get("journal", [])
            entry = pending.journal_entry(journal if isinstance(journal, list) else [])
            if entry is not None:
                settled = SettledRequest(
                    pending.command_id,
                    bool(entry.get("state_changed")),
                    str(entry.get("code", "")),
                )
                self.uncertain = None
        ptb = d.get("patient_bolus")
        return PatientStatus(
            _delivery(d),
            quantity_from_json(d["reservoir_estimate"], "reservoir_estimate"),
            tuple(str(a["name"]) for a in d.get("alarms", [])),
            int(d["patient_boluses_last_24h"]),
            None if ptb is None else int(ptb["max_per_day"]),
            None if ptb is None else quantity_from_json(ptb["lockout"], "lockout"),
            self.uncertain is not None,
            settled,
        )

    def request_bolus(self) -> PatientBolusOutcome:
        """Ask the implant for a patient bolus."""
        if self.uncertain is not None:
            return PatientBolusOutcome(
                False,
                "uncertain",
                "The last request got no answer: check the status before asking again.",
            )
        try:
            reply = self.channel.call(Op.PATIENT_BOLUS)
        except AckLost as exc:
            self.uncertain = PendingCommand.of(exc.command)
            return PatientBolusOutcome(
                False, "uncertain", "No answer from the pump: check the status before retrying."
            )
        if reply.status is not ReplyStatus.OK:
            return PatientBolusOutcome(
                False, reply.code, _MESSAGES.get(reply.code, reply.message), reply
            )
        if reply.state_changed:
            return PatientBolusOutcome(True, "", "Dose started.", reply)
        # Branch on the implant's code, never on its sentence (shown when no message fits).
        code = reply.code or RefusalCode.DEVICE_REFUSED.value
        return PatientBolusOutcome(False, code, _MESSAGES.get(code, reply.message or code), reply)


def _delivery(d: dict[str, Any]) -> DeliveryState:
    """The implant's delivery state (strict: an unknown state is an error, never a guess)."""
    try:
        return DeliveryState(str(d["delivery"]))
    except ValueError:
        raise CommandError("delivery", f"unknown state {str(d['delivery'])[:40]!r}") from None


__all__ = ["PatientBolusOutcome", "PatientController", "PatientStatus", "SettledRequest"]
