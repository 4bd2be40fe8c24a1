"""The record-json payload of each pump-history record (docs/fhir.md, "History"): what the
export writes on a refill, program change, interrogation, alarm and link delivery, and the
strict decoders the import reads it back with.

A decoder checks every field: unknown fields are refused; text has a length limit (the
database column's, or a storage bound on free text) and no control characters (free text may
hold line breaks); enumerations are checked; quantities are read with
:func:`~thecal.interop.fhir_history.q_in` (finite, a unit of the right dimension, negative
only for the refill discrepancy); times with :func:`~thecal.interop.fhir_history.t_in`; a
device must be a device of the Bundle of the right kind and a prescription version one of the
Bundle's. Every error names ``Type/id.extension(record-json).field``.
"""

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import pint

from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.clinic.model import (
    Alarm,
    DeviceKind,
    Interrogation,
    ProgramChange,
    RefillCandidateRecord,
    RefillRecord,
    StoredFinding,
)
from thecal.interop.fhir_history import Context, q_in, q_out, t_in
from thecal.interop.fhir_record import Stamp
from thecal.therapy.findings import Level
from thecal.units import Dimension, InputError

Payload = Mapping[str, Any]

# Column widths of the clinic database (thecal.store.schema); free text (Text columns) gets a
# storage bound against a runaway file, not a clinical limit.
ID_MAX: Final = 32
BY_MAX: Final = 80
LOT_MAX: Final = 64
CODE_MAX: Final = 64
LEVEL_MAX: Final = 20
WHAT_MAX: Final = 20
SHORT_MAX: Final = 200
FREE_MAX: Final = 4000
JSON_MAX: Final = 1_000_000  # a snapshot's status or log, as JSON characters

PUMPS: Final = frozenset({DeviceKind.PUMP.value, DeviceKind.TRIAL_PUMP.value})
ANY_DEVICE: Final = frozenset(k.value for k in DeviceKind)
_ID = re.compile(r"^[A-Za-z0-9\-.]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


# --- field readers ---------------------------------------------------------------------


def fields(data: Payload, where: str, required: Collection[str], optional: Collection[str] = ()
           ) -> None:  # fmt: skip
    """Refuse a payload with an unknown field or without a required one."""
    known = {"kind", "v", *required, *optional}
    for key in sorted(set(data) - known):
        raise InputError(f"{where}.{key}", "unknown field", ", ".join(sorted(known)))
    for key in required:
        if data.get(key) is None:
            raise InputError(f"{where}.{key}", "missing", "a value")


def s_in(data: Payload, key: str, where: str, limit: int, *, required: bool = True,
         multiline: bool = False) -> str | None:  # fmt: skip
    """Text as it is (not stripped: the record is kept exactly), at most ``limit`` characters,
    no control characters (``multiline``: line breaks allowed)."""
    value = data.get(key)
    if value is None:
        if required:
            raise InputError(f"{where}.{key}", "missing", "text")
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}.{key}", f"got {type(value).__name__}", "text")
    if len(value) > limit:
        raise InputError(f"{where}.{key}", f"is {len(value)} characters long",
                         f"at most {limit}")  # fmt: skip
    if (_CONTROL_BUT_NEWLINE if multiline else _CONTROL).search(value):
        raise InputError(f"{where}.{key}", "contains a control character",
                         "text with line breaks only" if multiline else "one line")  # fmt: skip
    return value


def req(data: Payload, key: str, where: str, limit: int, *, multiline: bool = False) -> str:
    out = s_in(data, key, where, limit, multiline=multiline)
    assert out is not None  # required
    return out


def record_id(data: Payload, where: str) -> str:
    """The record's id (kept: the FHIR ids derive from it)."""
    value = req(data, "id", where, ID_MAX)
    if not _ID.match(value):
        raise InputError(f"{where}.id", f"got {value!r}", "letters, digits, '-' or '.'")
    return value


def i_in(data: Payload, key: str, where: str, *, required: bool = True) -> int | None:
    """A whole number ≥ 1 (prescription versions); not a bool or a float."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"{where}.{key}", f"got {value!r}", "a whole number 1, 2, …")
    return value


def version_in(data: Payload, key: str, where: str, ctx: Context, *, required: bool = True
               ) -> int | None:  # fmt: skip
    """A prescription version of the Bundle."""
    value = i_in(data, key, where, required=required)
    if value is not None and value not in ctx.prescription_versions:
        raise InputError(f"{where}.{key}", f"no prescription version {value} in the Bundle",
                         "a version of the Bundle's MedicationRequests")  # fmt: skip
    return value


def device_in(data: Payload, key: str, where: str, ctx: Context, kinds: frozenset[str], *,
              required: bool = True) -> str | None:  # fmt: skip
    """The id of a Device of the Bundle whose kind is one of ``kinds``."""
    value = s_in(data, key, where, ID_MAX, required=required)
    if value is None:
        return None
    kind = ctx.devices.get(value)
    if kind is None:
        raise InputError(f"{where}.{key}", f"no Device/{value} in the Bundle",
                         "a device of the Bundle")  # fmt: skip
    if kind not in kinds:
        raise InputError(f"{where}.{key}", f"Device/{value} is a {kind}",
                         " or ".join(sorted(kinds)))  # fmt: skip
    return value


def when(data: Payload, key: str, where: str, ctx: Context) -> datetime:
    out = t_in(data, key, where, ctx)
    assert out is not None  # required
    return out


def volume(data: Payload, key: str, where: str, *, allow_negative: bool = False
           ) -> pint.Quantity:  # fmt: skip
    out = q_in(data, key, where, Dimension.VOLUME, allow_negative=allow_negative)
    assert out is not None  # required
    return out


def items(data: Payload, key: str, where: str) -> list[tuple[str, Any]]:
    """The list ``key`` as (``where.key[i]``, item) pairs (an absent list is empty)."""
    value = data.get(key, [])
    if not isinstance(value, list):
        raise InputError(f"{where}.{key}", f"got {type(value).__name__}", "a list")
    return [(f"{where}.{key}[{i}]", x) for i, x in enumerate(value)]


def obj(value: Any, where: str) -> Payload:
    if not isinstance(value, dict):
        raise InputError(where, f"got {type(value).__name__}", "an object")
    return value


def pairs(data: Payload, key: str, where: str, limits: tuple[int, int]
          ) -> tuple[tuple[str, str], ...]:  # fmt: skip
    """A list of ``[text, text]`` pairs (override reasons, what a delivery sent)."""
    out = []
    for at, x in items(data, key, where):
        if not isinstance(x, list) or len(x) != 2:
            raise InputError(at, f"got {x!r}", "a pair [text, text]")
        pair = {"0": x[0], "1": x[1]}
        out.append((req(pair, "0", at, limits[0]), req(pair, "1", at, limits[1], multiline=True)))
    return tuple(out)


def findings_out(found: Sequence[StoredFinding]) -> list[dict[str, Any]]:
    return [f.to_json() for f in found]


def findings_in(data: Payload, where: str) -> tuple[StoredFinding, ...]:
    """The stored findings (level, stable code, message, source, drug, limit, value and for a
    soft one who may give its reason)."""
    out = []
    for at, x in items(data, "findings", where):
        f = obj(x, at)
        fields(f, at, ("level", "code", "message", "source"),
               ("drug", "limit", "value", "override_by"))  # fmt: skip
        level = req(f, "level", at, LEVEL_MAX)
        if level not in {x.value for x in Level}:
            raise InputError(f"{at}.level", f"got {level!r}", "hard, soft or info")
        override_by = s_in(f, "override_by", at, LEVEL_MAX, required=False)
        if override_by not in (None, "physician", "clinician"):
            raise InputError(f"{at}.override_by", f"got {override_by!r}",
                             "physician or clinician")  # fmt: skip
        out.append(StoredFinding(
            Level(level), req(f, "code", at, CODE_MAX),
            req(f, "message", at, FREE_MAX, multiline=True),
            req(f, "source", at, FREE_MAX, multiline=True),
            s_in(f, "drug", at, SHORT_MAX, required=False),
            s_in(f, "limit", at, SHORT_MAX, required=False),
            s_in(f, "value", at, SHORT_MAX, required=False), override_by,
        ))  # fmt: skip
    return tuple(out)


def overrides_in(data: Payload, where: str) -> tuple[tuple[str, str], ...]:
    return pairs(data, "overrides", where, (CODE_MAX, FREE_MAX))


def t_out(stamp: Stamp, at: datetime | None) -> str | None:
    return None if at is None else stamp(at)


# --- refill ----------------------------------------------------------------------------


def refill_out(r: RefillRecord, stamp: Stamp) -> dict[str, Any]:
    return {
        "id": r.id, "device": r.device_id, "prescription_version": r.prescription_version,
        "performed_at": stamp(r.performed_at),
        "expected_remaining": q_out(r.expected_remaining), "withdrawn": q_out(r.withdrawn),
        "discrepancy": q_out(r.discrepancy), "filled": q_out(r.filled),
        "confirmed_after_fill": q_out(r.confirmed_after_fill), "drug_lot": r.drug_lot,
        "concentrations": [list(x) for x in r.concentrations], "by": r.by,
        "refill_by": t_out(stamp, r.refill_by), "decided_by": r.decided_by,
        "planned_refill": t_out(stamp, r.planned_refill),
        "candidates": [{"at": stamp(x.at), "kind": x.kind, "reason": x.reason,
                        "source": x.source} for x in r.candidates],
        "findings": findings_out(r.findings), "overrides": [list(o) for o in r.overrides],
    }  # fmt: skip


def refill_in(data: Payload, where: str, ctx: Context) -> RefillRecord:
    fields(data, where, ("id", "device", "prescription_version", "performed_at",
                         "expected_remaining", "withdrawn", "discrepancy", "filled", "drug_lot",
                         "by", "decided_by"),
           ("confirmed_after_fill", "concentrations", "refill_by", "planned_refill",
            "candidates", "findings", "overrides"))  # fmt: skip
    candidates = []
    for at, x in items(data, "candidates", where):
        c = obj(x, at)
        fields(c, at, ("at", "kind", "reason", "source"))
        candidates.append(RefillCandidateRecord(
            when(c, "at", at, ctx), req(c, "kind", at, CODE_MAX),
            req(c, "reason", at, FREE_MAX, multiline=True),
            req(c, "source", at, FREE_MAX, multiline=True)))  # fmt: skip
    return RefillRecord(
        ctx.patient_id, device_in(data, "device", where, ctx, PUMPS) or "",
        version_in(data, "prescription_version", where, ctx) or 0,
        when(data, "performed_at", where, ctx),
        volume(data, "expected_remaining", where), volume(data, "withdrawn", where),
        # withdrawn − expected: negative when less came back than expected
        volume(data, "discrepancy", where, allow_negative=True), volume(data, "filled", where),
        req(data, "drug_lot", where, LOT_MAX),
        pairs(data, "concentrations", where, (SHORT_MAX, SHORT_MAX)),
        req(data, "by", where, BY_MAX),
        t_in(data, "refill_by", where, ctx, required=False),
        req(data, "decided_by", where, FREE_MAX, multiline=True),
        q_in(data, "confirmed_after_fill", where, Dimension.VOLUME, required=False),
        t_in(data, "planned_refill", where, ctx, required=False), tuple(candidates),
        findings_in(data, where), overrides_in(data, where), record_id(data, where),
    )  # fmt: skip


# --- program change --------------------------------------------------------------------


def program_change_out(p: ProgramChange, stamp: Stamp) -> dict[str, Any]:
    return {
        "id": p.id, "at": stamp(p.at), "old_version": p.old_version,
        "new_version": p.new_version, "by": p.by, "reason": p.reason,
        "findings": findings_out(p.findings), "overrides": [list(o) for o in p.overrides],
    }  # fmt: skip


def program_change_in(data: Payload, where: str, ctx: Context) -> ProgramChange:
    fields(data, where, ("id", "at", "new_version", "by", "reason"),
           ("old_version", "findings", "overrides"))  # fmt: skip
    return ProgramChange(
        ctx.patient_id, when(data, "at", where, ctx),
        version_in(data, "old_version", where, ctx, required=False),
        version_in(data, "new_version", where, ctx) or 0, req(data, "by", where, BY_MAX),
        req(data, "reason", where, FREE_MAX, multiline=True), findings_in(data, where),
        overrides_in(data, where), record_id(data, where),
    )  # fmt: skip


# --- interrogation ---------------------------------------------------------------------


def interrogation_out(i: Interrogation, stamp: Stamp) -> dict[str, Any]:
    return {"id": i.id, "device": i.device_id, "at": stamp(i.at), "status": i.status,
            "log": list(i.log), "by": i.by, "findings": findings_out(i.findings)}  # fmt: skip


def _json_size(value: Any) -> int:
    return len(json.dumps(value))


def interrogation_in(data: Payload, where: str, ctx: Context) -> Interrogation:
    """The snapshot (status and log) is kept as the programmer stored it (its reader is
    tolerant); it must be a JSON object and a list of objects within a storage bound."""
    fields(data, where, ("id", "device", "at", "status"), ("log", "by", "findings"))
    status = dict(obj(data["status"], f"{where}.status"))
    log = [dict(obj(x, at)) for at, x in items(data, "log", where)]
    for key, value in (("status", status), ("log", log)):
        if _json_size(value) > JSON_MAX:
            raise InputError(f"{where}.{key}", "is too large", f"at most {JSON_MAX} characters")
    return Interrogation(
        ctx.patient_id, device_in(data, "device", where, ctx, PUMPS) or "",
        when(data, "at", where, ctx), status, tuple(log),
        s_in(data, "by", where, BY_MAX, required=False) or "", record_id(data, where),
        findings_in(data, where),
    )  # fmt: skip


# --- alarm -----------------------------------------------------------------------------


def alarm_out(a: Alarm, stamp: Stamp) -> dict[str, Any]:
    return {
        "id": a.id, "device": a.device_id, "code": a.code, "level": a.level,
        "message": a.message, "raised_at": stamp(a.raised_at),
        "cleared_at": t_out(stamp, a.cleared_at), "cleared_by": a.cleared_by,
        "acknowledged_at": t_out(stamp, a.acknowledged_at),
        "acknowledged_by": a.acknowledged_by, "resolution": a.resolution,
    }  # fmt: skip


def alarm_in(data: Payload, where: str, ctx: Context) -> Alarm:
    fields(data, where, ("id", "code", "level", "message", "raised_at"),
           ("device", "cleared_at", "cleared_by", "acknowledged_at", "acknowledged_by",
            "resolution"))  # fmt: skip
    out = Alarm(
        ctx.patient_id, req(data, "code", where, CODE_MAX), req(data, "level", where, LEVEL_MAX),
        req(data, "message", where, FREE_MAX, multiline=True),
        when(data, "raised_at", where, ctx),
        device_in(data, "device", where, ctx, ANY_DEVICE, required=False),
        t_in(data, "cleared_at", where, ctx, required=False),
        s_in(data, "cleared_by", where, BY_MAX, required=False), record_id(data, where),
        t_in(data, "acknowledged_at", where, ctx, required=False),
        s_in(data, "acknowledged_by", where, BY_MAX, required=False),
        s_in(data, "resolution", where, FREE_MAX, required=False, multiline=True),
    )  # fmt: skip
    # Who and when go together (the alarm workflow writes both or neither).
    for at, by in (("cleared_at", "cleared_by"), ("acknowledged_at", "acknowledged_by")):
        if (getattr(out, at) is None) != (getattr(out, by) is None):
            raise InputError(f"{where}.{by}", f"{at} and {by} must come together",
                             "both or neither")  # fmt: skip
    if out.resolution is not None and out.cleared_at is None:
        raise InputError(f"{where}.resolution", "an open alarm has no resolution",
                         "cleared_at with the resolution")  # fmt: skip
    return out


# --- link delivery ---------------------------------------------------------------------


def delivery_out(d: LinkDelivery, stamp: Stamp) -> dict[str, Any]:
    return {
        "id": d.id, "device": d.device_id, "at": stamp(d.at), "by": d.by, "what": d.what,
        "outcome": d.outcome.value, "detail": d.detail, "payload": [list(p) for p in d.payload],
        "prescription_version": d.prescription_version,
    }  # fmt: skip


def delivery_in(data: Payload, where: str, ctx: Context) -> LinkDelivery:
    fields(data, where, ("id", "device", "at", "by", "what", "outcome", "detail"),
           ("payload", "prescription_version"))  # fmt: skip
    outcome = req(data, "outcome", where, LEVEL_MAX)
    if outcome not in {o.value for o in DeliveryOutcome}:
        raise InputError(f"{where}.outcome", f"got {outcome!r}",
                         ", ".join(o.value for o in DeliveryOutcome))  # fmt: skip
    return LinkDelivery(
        ctx.patient_id, device_in(data, "device", where, ctx, PUMPS) or "",
        when(data, "at", where, ctx), req(data, "by", where, BY_MAX),
        req(data, "what", where, WHAT_MAX), DeliveryOutcome(outcome),
        req(data, "detail", where, FREE_MAX, multiline=True),
        pairs(data, "payload", where, (SHORT_MAX, FREE_MAX)),
        version_in(data, "prescription_version", where, ctx, required=False),
        record_id(data, where),
    )  # fmt: skip


Decoder = Callable[[Payload, str, Context], Any]
