"""The record-json payload of each pump-history record (docs/fhir.md, "History"): what the
export writes on a refill, program change, interrogation, alarm and link delivery, and the
strict decoders the import reads it back with (field readers in
:mod:`thecal.interop.fhir_payload`): every field checked, unknown ones refused; quantities
with :func:`~thecal.interop.fhir_history.q_in` (finite, a unit of the right dimension,
negative only for the refill discrepancy); recorded times not after the clinic's today (the
refill-by dates and candidates are planned, so may be later); a device must be a device of
the Bundle of the right kind and a prescription version one of the Bundle's. Every error names
``Type/id.extension(record-json).field``.
"""

import json
from collections.abc import Callable
from typing import Any, Final

from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.clinic.model import (
    Alarm,
    DeviceKind,
    Interrogation,
    ProgramChange,
    RefillCandidateRecord,
    RefillRecord,
)
from thecal.interop.fhir_history import Context, q_in, q_out
from thecal.interop.fhir_payload import (
    ANY_DEVICE,
    CODE_MAX,
    JSON_MAX,
    LOT_MAX,
    SHORT_TEXT_MAX,
    TEXT_MAX,
    WORD_MAX,
    Payload,
    choice,
    device_in,
    fields,
    findings_in,
    findings_out,
    items,
    obj,
    overrides_in,
    pairs,
    record_id,
    t_out,
    text,
    version_in,
    volume,
    when,
    who,
)
from thecal.interop.fhir_record import Stamp
from thecal.units import Dimension, InputError

PUMPS: Final = frozenset({DeviceKind.PUMP.value, DeviceKind.TRIAL_PUMP.value})


def pump(data: Payload, where: str, ctx: Context) -> str:
    """The payload's ``device``: a drug pump (implanted or trial) of the Bundle."""
    return device_in(data, "device", where, ctx, PUMPS)


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
            when(c, "at", at, ctx, planned=True), text(c, "kind", at, CODE_MAX),
            text(c, "reason", at, TEXT_MAX, multiline=True),
            text(c, "source", at, TEXT_MAX, multiline=True)))  # fmt: skip
    found = findings_in(data, where)
    return RefillRecord(
        ctx.patient_id, pump(data, where, ctx),
        version_in(data, "prescription_version", where, ctx),
        when(data, "performed_at", where, ctx),
        volume(data, "expected_remaining", where), volume(data, "withdrawn", where),
        # withdrawn − expected: negative when less came back than expected
        volume(data, "discrepancy", where, allow_negative=True), volume(data, "filled", where),
        text(data, "drug_lot", where, LOT_MAX),
        pairs(data, "concentrations", where, (SHORT_TEXT_MAX, SHORT_TEXT_MAX)),
        who(data, "by", where), when(data, "refill_by", where, ctx, required=False, planned=True),
        text(data, "decided_by", where, TEXT_MAX, multiline=True),
        q_in(data, "confirmed_after_fill", where, Dimension.VOLUME, required=False),
        when(data, "planned_refill", where, ctx, required=False, planned=True),
        tuple(candidates), found, overrides_in(data, where, found), record_id(data, where),
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
    found = findings_in(data, where)
    # The reason exactly as stored: the program workflow keeps it as typed (not stripped).
    return ProgramChange(
        ctx.patient_id, when(data, "at", where, ctx),
        version_in(data, "old_version", where, ctx, required=False),
        version_in(data, "new_version", where, ctx), who(data, "by", where),
        text(data, "reason", where, TEXT_MAX, multiline=True), found,
        overrides_in(data, where, found), record_id(data, where),
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
        ctx.patient_id, pump(data, where, ctx),
        when(data, "at", where, ctx), status, tuple(log),
        who(data, "by", where, required=False) or "", record_id(data, where),
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
        ctx.patient_id, text(data, "code", where, CODE_MAX), text(data, "level", where, WORD_MAX),
        text(data, "message", where, TEXT_MAX, multiline=True),
        when(data, "raised_at", where, ctx),
        device_in(data, "device", where, ctx, ANY_DEVICE, required=False),
        when(data, "cleared_at", where, ctx, required=False),
        who(data, "cleared_by", where, required=False), record_id(data, where),
        when(data, "acknowledged_at", where, ctx, required=False),
        who(data, "acknowledged_by", where, required=False),
        # The alarm workflow stores the resolution stripped.
        text(data, "resolution", where, TEXT_MAX, required=False, multiline=True,
             stripped=True),
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
    return LinkDelivery(
        ctx.patient_id, pump(data, where, ctx),
        when(data, "at", where, ctx), who(data, "by", where),
        text(data, "what", where, WORD_MAX), choice(data, "outcome", where, DeliveryOutcome),
        text(data, "detail", where, TEXT_MAX, multiline=True),
        pairs(data, "payload", where, (SHORT_TEXT_MAX, TEXT_MAX)),
        version_in(data, "prescription_version", where, ctx, required=False),
        record_id(data, where),
    )  # fmt: skip


Decoder = Callable[[Payload, str, Context], Any]
