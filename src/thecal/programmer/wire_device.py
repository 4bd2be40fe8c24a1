"""Device data on the wire (pure): findings, command results, alarms, log events and the drug
pump's status as JSON, strict both ways (programs: :mod:`thecal.programmer.wire_program`).

The envelope (commands, replies) is :mod:`thecal.programmer.commands`; this module holds what
travels inside a reply's ``data``. Every quantity is ``{"value", "unit"}`` (UCUM); times are
ISO 8601 naive device times. What a programmer receives never holds the simulation's true time:
a status has no ``sim_time`` and a log event no ``sim_hours``. A device refusal travels as its
stable code (``result.refusal``) beside its sentence (``result.reason``).
"""

from typing import Any

from thecal.devices.alarms import AlarmCondition, AlarmPriority, AlarmState, Tone
from thecal.devices.log import EventKind, LogEvent
from thecal.devices.pump import BolusState, DeviceStatus
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.devices.states import DeliveryState, Hold, delivery_state, sorted_holds
from thecal.programmer.commands import (
    CommandError,
    quantity_from_json,
    quantity_json,
    time_from_json,
)
from thecal.programmer.wire_program import DrugLookup, program_from_json, program_to_json
from thecal.programmer.wire_read import (
    read_bool,
    read_enum,
    read_float,
    read_int,
    read_list,
    read_obj,
    read_opt_time,
    read_str,
    time_text,
)
from thecal.therapy.findings import Code, Finding, Level


def _event_value(value: Any, field: str) -> tuple[str, float, str]:
    row = read_list(value, field)
    if len(row) != 3:
        raise CommandError(field, "expected [name, value, unit]")
    return (
        read_str(row[0], field + ".name"),
        read_float(row[1], field),
        read_str(row[2], field + ".unit"),
    )


# --- findings, results, alarms, events, status ------------------------------------------------


def finding_to_json(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "level": f.level.value,
        "code": f.code.value,
        "message": f.message,
        "source": f.source,
        "drug": f.drug,
        "limit": None if f.limit is None else quantity_json(f.limit),
        "value": None if f.value is None else quantity_json(f.value),
    }
    return out


def finding_from_json(value: Any, field: str = "finding") -> Finding:
    d = read_obj(value, field)
    try:
        level, code = Level(str(d.get("level"))), Code(str(d.get("code")))
    except ValueError as exc:
        raise CommandError(field, str(exc)) from None
    lim, val = d.get("limit"), d.get("value")
    return Finding(
        level,
        code,
        read_str(d.get("message"), field + ".message"),
        read_str(d.get("source"), field + ".source"),
        d.get("drug") if isinstance(d.get("drug"), str) else None,
        None if lim is None else quantity_from_json(lim, field + ".limit"),
        None if val is None else quantity_from_json(val, field + ".value"),
    )


def result_to_json(r: CommandResult) -> dict[str, Any]:
    """A device :class:`CommandResult` (refusal code, findings, values and tones included)."""
    return {
        "command": r.command,
        "processed": r.processed,
        "state_changed": r.state_changed,
        "refusal": None if r.refusal is None else r.refusal.value,
        "reason": r.reason,
        "findings": [finding_to_json(f) for f in r.findings],
        "values": {k: quantity_json(v) for k, v in r.values},
        "tones": [
            {"count": t.count, "duration": quantity_json(t.duration), "source": t.source}
            for t in r.tones
        ],
    }


def result_from_json(value: Any, field: str = "result") -> CommandResult:
    """Strict inverse of :func:`result_to_json`: a refusal code and its sentence come together
    (an unknown code, or one without a sentence, is refused)."""
    d = read_obj(value, field)
    values = read_obj(d.get("values", {}), field + ".values")
    code = d.get("refusal")
    refusal = None if code is None else read_enum(DeviceRefusal, code, field + ".refusal")
    try:
        return CommandResult(
            read_str(d.get("command"), field + ".command"),
            read_bool(d.get("processed"), field + ".processed"),
            read_bool(d.get("state_changed"), field + ".state_changed"),
            read_str(d.get("reason", ""), field + ".reason"),
            tuple(
                finding_from_json(f, f"{field}.findings[{i}]")
                for i, f in enumerate(read_list(d.get("findings", []), field + ".findings"))
            ),
            tuple((k, quantity_from_json(v, f"{field}.values.{k}")) for k, v in values.items()),
            tuple(
                Tone(
                    read_int(t.get("count"), "tone.count"),
                    quantity_from_json(t.get("duration"), "tone.duration"),
                    read_str(t.get("source"), "tone.source"),
                )
                for t in read_list(d.get("tones", []), field + ".tones")
            ),
            refusal,
        )
    except ValueError as exc:  # CommandResult: a code without a sentence, or the reverse
        if isinstance(exc, CommandError):
            raise
        raise CommandError(field + ".refusal", str(exc)) from None


def alarm_to_json(a: AlarmState) -> dict[str, Any]:
    return {
        "condition": int(a.condition),
        "name": a.condition.name,
        "priority": int(a.priority),
        "critical": a.critical,
        "raised_at": a.raised_at.isoformat(),
        "acknowledged": a.acknowledged,
        "resolved": a.resolved,
        "repeats": a.repeats,
        "tone": None
        if a.tone is None
        else {
            "count": a.tone.count,
            "duration": quantity_json(a.tone.duration),
            "source": a.tone.source,
        },
    }


def alarm_from_json(value: Any, field: str = "alarm") -> AlarmState:
    d = read_obj(value, field)
    try:
        condition = AlarmCondition(read_int(d.get("condition"), field + ".condition"))
        priority = AlarmPriority(read_int(d.get("priority"), field + ".priority"))
    except ValueError as exc:
        raise CommandError(field, str(exc)) from None
    t = d.get("tone")
    tone = None
    if t is not None:
        t = read_obj(t, field + ".tone")
        tone = Tone(
            read_int(t.get("count"), "tone.count"),
            quantity_from_json(t.get("duration"), "tone.duration"),
            read_str(t.get("source"), "tone.source"),
        )
    return AlarmState(
        condition,
        priority,
        read_bool(d.get("critical"), field + ".critical"),
        time_from_json(d.get("raised_at"), field + ".raised_at"),
        read_bool(d.get("acknowledged"), field + ".acknowledged"),
        read_bool(d.get("resolved"), field + ".resolved"),
        read_int(d.get("repeats"), field + ".repeats"),
        tone,
    )


def event_to_json(e: LogEvent) -> list[Any]:
    """Compact: ``[seq, kind, device_hours, message, values, alarm]`` (1,000 events must fit a
    few frames). The device clock only: a simulator's true time stays in the simulator."""
    return [
        e.seq,
        e.kind.value,
        e.device_hours,
        e.message,
        [[k, m, u] for k, m, u in e.values],
        None if e.alarm is None else int(e.alarm),
    ]


def event_from_json(value: Any, serial: str, field: str = "event") -> LogEvent:
    row = read_list(value, field)
    if len(row) != 6:
        raise CommandError(field, "expected 6 fields")
    kind = read_enum(EventKind, row[1], field + ".kind")
    try:
        alarm = None if row[5] is None else AlarmCondition(read_int(row[5], field + ".alarm"))
    except ValueError as exc:
        if isinstance(exc, CommandError):
            raise
        raise CommandError(field, str(exc)) from None
    values = tuple(
        _event_value(v, f"{field}.values[{i}]")
        for i, v in enumerate(read_list(row[4], field + ".values"))
    )
    return LogEvent(
        serial,
        read_int(row[0], field + ".seq"),
        kind,
        read_float(row[2], field + ".device_hours"),
        read_str(row[3], field + ".message"),
        values,
        alarm,
    )


def status_to_json(s: DeviceStatus) -> dict[str, Any]:
    """The full clinician status (identity, delivery state and holds, running boluses,
    program, alarms, reservoir, battery, counters). ``delivering`` is kept beside
    ``delivery`` for the interrogation snapshots the clinic has already stored."""
    return {
        "serial": s.serial,
        "model": s.model,
        "device_time": s.device_time.isoformat(),
        "delivery": s.delivery.value,
        "delivering": s.delivering,
        "holds": [h.value for h in s.holds],
        "bolus": s.bolus.value,
        "program": None if s.program is None else program_to_json(s.program),
        "reservoir_estimate": quantity_json(s.reservoir_estimate),
        "low_reservoir_threshold": None
        if s.low_reservoir_threshold is None
        else quantity_json(s.low_reservoir_threshold),
        "delivered_total": quantity_json(s.delivered_total),
        "alarms": [alarm_to_json(a) for a in s.alarms],
        "eri_at": time_text(s.eri_at),
        "eos_at": time_text(s.eos_at),
        "patient_boluses_last_24h": s.patient_boluses_last_24h,
        "last_seq": s.last_seq,
    }


def status_from_json(value: Any, drugs: DrugLookup, field: str = "status") -> DeviceStatus:
    """Strict inverse of :func:`status_to_json`: ``delivery`` and ``delivering`` must agree
    with the holds they are derived from (a status that contradicts itself is refused)."""
    d = read_obj(value, field)
    if "family" in d:  # only a stimulator's status names its family (wire_stimulator)
        raise CommandError(field + ".family", f"a {str(d['family'])[:40]}'s status, not a pump's")
    thr = d.get("low_reservoir_threshold")
    holds = sorted_holds(
        read_enum(Hold, h, f"{field}.holds[{i}]")
        for i, h in enumerate(read_list(d.get("holds"), field + ".holds"))
    )
    delivery = read_enum(DeliveryState, d.get("delivery"), field + ".delivery")
    if delivery is not delivery_state(holds):
        raise CommandError(field + ".delivery", f"{delivery.value!r} contradicts the holds")
    if read_bool(d.get("delivering"), field + ".delivering") != (not holds):
        raise CommandError(field + ".delivering", "contradicts the holds")
    return DeviceStatus(
        read_str(d.get("serial"), field + ".serial"),
        read_str(d.get("model"), field + ".model"),
        time_from_json(d.get("device_time"), field + ".device_time"),
        holds,
        read_enum(BolusState, d.get("bolus"), field + ".bolus"),
        None
        if d.get("program") is None
        else program_from_json(d["program"], drugs, field + ".program"),
        quantity_from_json(d.get("reservoir_estimate"), field + ".reservoir_estimate"),
        None if thr is None else quantity_from_json(thr, field + ".low_reservoir_threshold"),
        quantity_from_json(d.get("delivered_total"), field + ".delivered_total"),
        tuple(
            alarm_from_json(a, f"{field}.alarms[{i}]")
            for i, a in enumerate(read_list(d.get("alarms"), field + ".alarms"))
        ),
        read_opt_time(d.get("eri_at"), field + ".eri_at"),
        read_opt_time(d.get("eos_at"), field + ".eos_at"),
        read_int(d.get("patient_boluses_last_24h"), field + ".patient_boluses_last_24h"),
        read_int(d.get("last_seq"), field + ".last_seq"),
    )


__all__ = [
    "alarm_from_json",
    "alarm_to_json",
    "event_from_json",
    "event_to_json",
    "finding_from_json",
    "finding_to_json",
    "result_from_json",
    "result_to_json",
    "status_from_json",
    "status_to_json",
]
