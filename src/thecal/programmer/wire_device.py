"""Device data on the wire (pure): programs, findings, command results, alarms, log events and
the drug pump's status as JSON, strict both ways.

The envelope (commands, replies) is :mod:`thecal.programmer.commands`; this module holds what
travels inside a reply's ``data``. Every quantity is ``{"value", "unit"}`` (UCUM); times are
ISO 8601 naive device times. What a programmer receives never holds the simulation's true time:
a status has no ``sim_time`` and a log event no ``sim_hours``. A device refusal travels as its
stable code (``result.refusal``) beside its sentence (``result.reason``).
"""

import math
from collections.abc import Callable
from datetime import datetime, time
from enum import StrEnum
from typing import Any, TypeVar

from thecal.devices.alarms import AlarmCondition, AlarmPriority, AlarmState, Tone
from thecal.devices.log import EventKind, LogEvent
from thecal.devices.pump import BolusState, DeviceStatus, Program
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.devices.states import DeliveryState, Hold, delivery_state, sorted_holds
from thecal.programmer.commands import (
    CommandError,
    Qty,
    quantity_from_json,
    quantity_json,
    time_from_json,
)
from thecal.therapy.admixture import Admixture, make_admixture
from thecal.therapy.drugs import Drug
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.schedule import (
    BasalProgram,
    DayProgram,
    FlexStep,
    PatientBolus,
    PeriodicBolus,
    Schedule,
    SingleBolus,
)
from thecal.units import InputError

_E = TypeVar("_E", bound=StrEnum)

# --- small strict readers ---------------------------------------------------------------------


def _time_json(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _opt_time(value: Any, field: str) -> datetime | None:
    return None if value is None else time_from_json(value, field)


def _obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CommandError(field, "expected an object")
    return value


def _str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise CommandError(field, "expected a string")
    return value


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise CommandError(field, "expected true or false")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise CommandError(field, "expected a list")
    return value


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CommandError(field, "expected an integer")
    return value


def _float(value: Any, field: str) -> float:
    """A finite JSON number (an integer beyond float range, NaN and infinity are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CommandError(field, "expected a number")
    try:
        number = float(value)
    except OverflowError:
        raise CommandError(field, "must be finite") from None
    if not math.isfinite(number):
        raise CommandError(field, "must be finite")
    return number


def _event_value(value: Any, field: str) -> tuple[str, float, str]:
    row = _list(value, field)
    if len(row) != 3:
        raise CommandError(field, "expected [name, value, unit]")
    return _str(row[0], field + ".name"), _float(row[1], field), _str(row[2], field + ".unit")


# --- programs --------------------------------------------------------------------------------


def program_to_json(p: Program) -> dict[str, Any]:
    """A program as JSON (drugs by name, every quantity UCUM)."""
    s = p.schedule
    return {
        "admixture": [
            {"drug": i.drug.name, "concentration": quantity_json(i.concentration)}
            for i in p.admixture.ingredients
        ],
        "basal": [
            [[st.start.isoformat(), quantity_json(st.rate)] for st in day.steps]
            for day in s.basal.days
        ],
        "periodic": [
            {
                "volume": quantity_json(b.volume),
                "every": quantity_json(b.every),
                "duration": quantity_json(b.duration),
                "first": b.first.isoformat(),
            }
            for b in s.periodic
        ],
        "single": [
            {
                "volume": quantity_json(b.volume),
                "at": b.at.isoformat(),
                "duration": quantity_json(b.duration),
            }
            for b in s.single
        ],
        "low_reservoir_threshold": quantity_json(p.low_reservoir_threshold),
        "patient_bolus": None
        if p.patient_bolus is None
        else {
            "volume": quantity_json(p.patient_bolus.volume),
            "duration": quantity_json(p.patient_bolus.duration),
            "lockout": quantity_json(p.patient_bolus.lockout),
            "max_per_day": p.patient_bolus.max_per_day,
        },
    }


DrugLookup = Callable[[str], Drug]


def program_from_json(value: Any, drugs: DrugLookup, field: str = "program") -> Program:
    """Strict inverse of :func:`program_to_json`. ``drugs`` resolves a drug name (the implant's
    provisioned library); an unknown drug raises :class:`CommandError`. Firmware limits are
    not checked here (the firmware does that when the program is written)."""
    d = _obj(value, field)
    keys = {"admixture", "basal", "periodic", "single", "low_reservoir_threshold", "patient_bolus"}
    if set(d) != keys:
        raise CommandError(field, f"expected keys {sorted(keys)}")
    ingredients: list[tuple[Drug, Qty]] = []
    for i, ing in enumerate(_list(d["admixture"], f"{field}.admixture")):
        where = f"{field}.admixture[{i}]"
        ing = _obj(ing, where)
        try:
            drug = drugs(_str(ing.get("drug"), where + ".drug"))
        except (InputError, KeyError) as exc:
            raise CommandError(where + ".drug", str(exc)) from None
        ingredients.append((drug, quantity_from_json(ing.get("concentration"), where + ".conc")))
    try:
        admixture: Admixture = make_admixture(ingredients, f"{field}.admixture")
    except InputError as exc:
        raise CommandError(exc.field, exc.message) from None
    days: list[DayProgram] = []
    basal = _list(d["basal"], f"{field}.basal")
    if len(basal) != 7:
        raise CommandError(f"{field}.basal", "expected 7 day programs, Monday first")
    for di, day in enumerate(basal):
        steps: list[FlexStep] = []
        for si, step in enumerate(_list(day, f"{field}.basal[{di}]")):
            where = f"{field}.basal[{di}][{si}]"
            pair = _list(step, where)
            if len(pair) != 2:
                raise CommandError(where, "expected [start, rate]")
            try:
                start = time.fromisoformat(_str(pair[0], where))
            except ValueError:
                raise CommandError(where, "start must be HH:MM[:SS]") from None
            steps.append(FlexStep(start, quantity_from_json(pair[1], where + ".rate")))
        if not steps:
            raise CommandError(f"{field}.basal[{di}]", "a day needs at least one step")
        days.append(DayProgram(tuple(steps)))
    periodic = tuple(
        PeriodicBolus(
            quantity_from_json(_obj(b, f"{field}.periodic[{i}]").get("volume"), "volume"),
            quantity_from_json(b.get("every"), f"{field}.periodic[{i}].every"),
            quantity_from_json(b.get("duration"), f"{field}.periodic[{i}].duration"),
            time_from_json(b.get("first"), f"{field}.periodic[{i}].first"),
        )
        for i, b in enumerate(_list(d["periodic"], f"{field}.periodic"))
    )
    single = tuple(
        SingleBolus(
            quantity_from_json(_obj(b, f"{field}.single[{i}]").get("volume"), "volume"),
            time_from_json(b.get("at"), f"{field}.single[{i}].at"),
            quantity_from_json(b.get("duration"), f"{field}.single[{i}].duration"),
        )
        for i, b in enumerate(_list(d["single"], f"{field}.single"))
    )
    ptb = None
    if d["patient_bolus"] is not None:
        b = _obj(d["patient_bolus"], f"{field}.patient_bolus")
        ptb = PatientBolus(
            quantity_from_json(b.get("volume"), f"{field}.patient_bolus.volume"),
            quantity_from_json(b.get("duration"), f"{field}.patient_bolus.duration"),
            quantity_from_json(b.get("lockout"), f"{field}.patient_bolus.lockout"),
            _int(b.get("max_per_day"), f"{field}.patient_bolus.max_per_day"),
        )
    threshold = quantity_from_json(d["low_reservoir_threshold"], f"{field}.low_reservoir_threshold")
    return Program(Schedule(BasalProgram(tuple(days)), periodic, single), admixture, threshold, ptb)


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
    d = _obj(value, field)
    try:
        level, code = Level(str(d.get("level"))), Code(str(d.get("code")))
    except ValueError as exc:
        raise CommandError(field, str(exc)) from None
    lim, val = d.get("limit"), d.get("value")
    return Finding(
        level,
        code,
        _str(d.get("message"), field + ".message"),
        _str(d.get("source"), field + ".source"),
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


def _enum_value(kind: type[_E], value: Any, field: str) -> _E:
    try:
        return kind(_str(value, field))
    except ValueError:
        raise CommandError(field, f"unknown {kind.__name__} {str(value)[:40]!r}") from None


def result_from_json(value: Any, field: str = "result") -> CommandResult:
    """Strict inverse of :func:`result_to_json`: a refusal code and its sentence come together
    (an unknown code, or one without a sentence, is refused)."""
    d = _obj(value, field)
    values = _obj(d.get("values", {}), field + ".values")
    code = d.get("refusal")
    refusal = None if code is None else _enum_value(DeviceRefusal, code, field + ".refusal")
    try:
        return CommandResult(
            _str(d.get("command"), field + ".command"),
            _bool(d.get("processed"), field + ".processed"),
            _bool(d.get("state_changed"), field + ".state_changed"),
            _str(d.get("reason", ""), field + ".reason"),
            tuple(
                finding_from_json(f, f"{field}.findings[{i}]")
                for i, f in enumerate(_list(d.get("findings", []), field + ".findings"))
            ),
            tuple((k, quantity_from_json(v, f"{field}.values.{k}")) for k, v in values.items()),
            tuple(
                Tone(
                    _int(t.get("count"), "tone.count"),
                    quantity_from_json(t.get("duration"), "tone.duration"),
                    _str(t.get("source"), "tone.source"),
                )
                for t in _list(d.get("tones", []), field + ".tones")
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
    d = _obj(value, field)
    try:
        condition = AlarmCondition(_int(d.get("condition"), field + ".condition"))
        priority = AlarmPriority(_int(d.get("priority"), field + ".priority"))
    except ValueError as exc:
        raise CommandError(field, str(exc)) from None
    t = d.get("tone")
    tone = None
    if t is not None:
        t = _obj(t, field + ".tone")
        tone = Tone(
            _int(t.get("count"), "tone.count"),
            quantity_from_json(t.get("duration"), "tone.duration"),
            _str(t.get("source"), "tone.source"),
        )
    return AlarmState(
        condition,
        priority,
        _bool(d.get("critical"), field + ".critical"),
        time_from_json(d.get("raised_at"), field + ".raised_at"),
        _bool(d.get("acknowledged"), field + ".acknowledged"),
        _bool(d.get("resolved"), field + ".resolved"),
        _int(d.get("repeats"), field + ".repeats"),
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
    row = _list(value, field)
    if len(row) != 6:
        raise CommandError(field, "expected 6 fields")
    kind = _enum_value(EventKind, row[1], field + ".kind")
    try:
        alarm = None if row[5] is None else AlarmCondition(_int(row[5], field + ".alarm"))
    except ValueError as exc:
        if isinstance(exc, CommandError):
            raise
        raise CommandError(field, str(exc)) from None
    values = tuple(
        _event_value(v, f"{field}.values[{i}]")
        for i, v in enumerate(_list(row[4], field + ".values"))
    )
    return LogEvent(
        serial,
        _int(row[0], field + ".seq"),
        kind,
        _float(row[2], field + ".device_hours"),
        _str(row[3], field + ".message"),
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
        "eri_at": _time_json(s.eri_at),
        "eos_at": _time_json(s.eos_at),
        "patient_boluses_last_24h": s.patient_boluses_last_24h,
        "last_seq": s.last_seq,
    }


def status_from_json(value: Any, drugs: DrugLookup, field: str = "status") -> DeviceStatus:
    """Strict inverse of :func:`status_to_json`: ``delivery`` and ``delivering`` must agree
    with the holds they are derived from (a status that contradicts itself is refused)."""
    d = _obj(value, field)
    thr = d.get("low_reservoir_threshold")
    holds = sorted_holds(
        _enum_value(Hold, h, f"{field}.holds[{i}]")
        for i, h in enumerate(_list(d.get("holds"), field + ".holds"))
    )
    delivery = _enum_value(DeliveryState, d.get("delivery"), field + ".delivery")
    if delivery is not delivery_state(holds):
        raise CommandError(field + ".delivery", f"{delivery.value!r} contradicts the holds")
    if _bool(d.get("delivering"), field + ".delivering") != (not holds):
        raise CommandError(field + ".delivering", "contradicts the holds")
    return DeviceStatus(
        _str(d.get("serial"), field + ".serial"),
        _str(d.get("model"), field + ".model"),
        time_from_json(d.get("device_time"), field + ".device_time"),
        holds,
        _enum_value(BolusState, d.get("bolus"), field + ".bolus"),
        None
        if d.get("program") is None
        else program_from_json(d["program"], drugs, field + ".program"),
        quantity_from_json(d.get("reservoir_estimate"), field + ".reservoir_estimate"),
        None if thr is None else quantity_from_json(thr, field + ".low_reservoir_threshold"),
        quantity_from_json(d.get("delivered_total"), field + ".delivered_total"),
        tuple(
            alarm_from_json(a, f"{field}.alarms[{i}]")
            for i, a in enumerate(_list(d.get("alarms"), field + ".alarms"))
        ),
        _opt_time(d.get("eri_at"), field + ".eri_at"),
        _opt_time(d.get("eos_at"), field + ".eos_at"),
        _int(d.get("patient_boluses_last_24h"), field + ".patient_boluses_last_24h"),
        _int(d.get("last_seq"), field + ".last_seq"),
    )


__all__ = [
    "DrugLookup",
    "alarm_from_json",
    "alarm_to_json",
    "event_from_json",
    "event_to_json",
    "finding_from_json",
    "finding_to_json",
    "program_from_json",
    "program_to_json",
    "result_from_json",
    "result_to_json",
    "status_from_json",
    "status_to_json",
]
