"""FHIR resources of a patient's recorded assessments (decision support; docs/fhir.md,
"Stimulator records and assessments"): each as a ClinicalImpression, and an open one of
urgency emergency, today or within 24 h (those the worklist keeps) also as an active Flag.

The ClinicalImpression is the anchor: its record-json holds the presentation given to the
rules, what they proposed then, the urgency, the assessment's kind (``assessment_kind``: the
payload's ``kind`` names the record kind), the note and who closed it. The import's
decoder (:data:`KINDS`) takes them back strictly: urgency and kind from their enumerations,
the presentation re-validated with the decision rules' own model, the result kept as recorded
(it is what the rules proposed then, not re-run) but read with the Assessment model.
"""

from collections.abc import Iterator, Mapping
from typing import Any, Final

from thecal.clinic.assessment_ports import AssessmentKind, AssessmentRecord
from thecal.clinic.assessment_workflow import MAX_NOTE, URGENT, stored_result
from thecal.clinic.model import DeviceKind
from thecal.decision import Assessment, presentation_from_mapping
from thecal.decision.assessment import URGENCIES, URGENCY_WORDS
from thecal.interop import fhir_codes as c
from thecal.interop import fhir_payload as p
from thecal.interop.fhir_history import Context, HistoryKind, attach
from thecal.interop.fhir_record import PatientData, Stamp, fid, ref
from thecal.units import InputError

Resource = dict[str, Any]
ASSESSED: Final = (DeviceKind.PUMP.value, DeviceKind.TRIAL_PUMP.value,
                   DeviceKind.STIMULATOR.value)  # fmt: skip
"""The devices an assessment may be about (:func:`~thecal.clinic.assessment_registry.
assessed_device`)."""
KIND_DISPLAY: Final = {
    AssessmentKind.CLINICIAN: "Clinician assessment (a new presentation)",
    AssessmentKind.REPLACEMENT: "Checklist before a device replacement",
    AssessmentKind.OPERATIVE: "Findings at surgery",
}
_CATEGORIES = (("must_not_miss", "Must not miss"), ("workup", "Work-up"),
               ("differential", "Differential"), ("prompts", "Prompts"))  # fmt: skip


def resources(data: PatientData, stamp: Stamp) -> Iterator[Resource]:
    """Each assessment's ClinicalImpression, and the Flag of an open urgent one."""
    for a in data.assessments:
        yield impression(a, stamp)
        if a.open and a.urgency in URGENT:
            yield flag(a, stamp)


def summary(a: AssessmentRecord) -> str:
    """The urgency, the rules that fired and what they proposed, in words, with the statement
    that Thecal proposes and never diagnoses."""
    result = stored_result(a)
    parts = [f"Urgency: {URGENCY_WORDS[a.urgency]}."]
    if result.fired:
        parts.append("Rules that fired: " + "; ".join(
            f"{r.title} ({URGENCY_WORDS[r.urgency]})" for r in result.fired) + ".")  # fmt: skip
    else:
        parts.append("No rule fired.")
    for category, label in _CATEGORIES:
        items = result.items(category)
        if items:
            parts.append(f"{label}: " + "; ".join(i.text.rstrip(".") for i in items) + ".")
    parts.append(result.statement)
    return " ".join(parts)


def impression(a: AssessmentRecord, stamp: Stamp) -> Resource:
    """The assessment as a ClinicalImpression: ``in-progress`` while open, ``completed`` once
    closed; ``code`` its kind, ``summary`` the urgency and the proposals in words, the device
    as ``supportingInfo``, the clinician's note as ``note``. Thecal's items are prompts, not
    findings about the patient, so R4's ``finding`` ("findings or diagnoses considered likely")
    is not used."""
    out: Resource = {
        "resourceType": "ClinicalImpression", "id": fid(a.id),
        "status": "in-progress" if a.open else "completed",
        "code": c.concept(c.ASSESSMENT_KINDS, a.kind.value, KIND_DISPLAY[a.kind]),
        "description": "Decision support: prompts proposed by Thecal's rules",
        "subject": ref("Patient", a.patient_id), "effectiveDateTime": stamp(a.at),
        "date": stamp(a.at), "assessor": {"display": a.by}, "summary": summary(a),
    }  # fmt: skip
    if a.device_id:
        out["supportingInfo"] = [ref("Device", a.device_id)]
    if a.note:
        out["note"] = [{"text": a.note}]
    return attach(out, "assessment", {
        "id": a.id, "device_id": a.device_id, "at": stamp(a.at), "by": a.by,
        "assessment_kind": a.kind.value, "urgency": a.urgency, "presentation": a.presentation,
        "result": a.result, "note": a.note,
        "closed_at": stamp(a.closed_at) if a.closed_at else None, "closed_by": a.closed_by,
    })  # fmt: skip


def flag(a: AssessmentRecord, stamp: Stamp) -> Resource:
    """An open assessment the worklist keeps (emergency, today, within 24 h) as an active
    Flag: ``code`` the urgency (…/CodeSystem/assessment-urgency), ``code.text`` with the rules
    that fired; derived from the ClinicalImpression, so it has no record-json."""
    fired = "; ".join(r.title for r in stored_result(a).fired)
    concept = c.concept(c.ASSESSMENT_URGENCY, a.urgency, URGENCY_WORDS[a.urgency])
    concept["text"] = f"Open assessment, urgency {URGENCY_WORDS[a.urgency]}: {fired}"
    out: Resource = {
        "resourceType": "Flag", "id": fid(a.id, "flag"), "status": "active",
        "category": [{"text": "assessment"}], "code": concept,
        "subject": ref("Patient", a.patient_id), "period": {"start": stamp(a.at)},
        "author": {"display": a.by},
    }  # fmt: skip
    return out


def decode(data: Mapping[str, Any], where: str, ctx: Context) -> AssessmentRecord:
    """An assessment record from its payload (see the module docstring); closed_at and
    closed_by come together, closed_at not before the assessment."""
    p.fields(data, where, ("id", "at", "by", "assessment_kind", "urgency", "presentation",
                           "result"), ("device_id", "note", "closed_at", "closed_by"))  # fmt: skip
    urgency = data.get("urgency")
    if not isinstance(urgency, str) or urgency not in URGENCIES:
        raise InputError(f"{where}.urgency", f"got {urgency!r}", ", ".join(URGENCIES))
    device = p.device_in(data, "device_id", where, ctx, ASSESSED, required=False)
    given = data.get("presentation")
    if not isinstance(given, dict):
        raise InputError(f"{where}.presentation", f"got {given!r}", "the presentation given")
    try:
        presentation = presentation_from_mapping(given)
    except InputError as exc:
        raise InputError(f"{where}.presentation.{exc.field}", exc.message,
                         exc.expected) from None  # fmt: skip
    if device is not None and (presentation.device == "stimulator") != (
        ctx.devices[device] == DeviceKind.STIMULATOR.value
    ):
        raise InputError(f"{where}.presentation.device", f"{presentation.device} for a "
                         f"{ctx.devices[device]}", "the assessed device's kind")  # fmt: skip
    result = data.get("result")
    if not isinstance(result, dict):
        raise InputError(f"{where}.result", f"got {result!r}", "what the rules proposed")
    proposed = p.validated(Assessment, result, f"{where}.result",
                           "an assessment as Thecal records it")  # fmt: skip
    if proposed.urgency != urgency:
        raise InputError(f"{where}.urgency", f"{urgency} but the result says "
                         f"{proposed.urgency}", "the result's urgency")  # fmt: skip
    at = p.when(data, "at", where, ctx)
    closed_at = p.when(data, "closed_at", where, ctx, required=False)
    closed_by = p.who(data, "closed_by", where, required=False)
    if (closed_at is None) != (closed_by is None):
        raise InputError(f"{where}.closed_at", "closed_at and closed_by come together",
                         "both or neither")  # fmt: skip
    if closed_at is not None and closed_at < at:
        raise InputError(f"{where}.closed_at", f"{closed_at} is before the assessment",
                         f"at or after {at}")  # fmt: skip
    return AssessmentRecord(
        ctx.patient_id, at, p.who(data, "by", where),
        p.choice(data, "assessment_kind", where, AssessmentKind), urgency, given, result, device,
        # The workflow stores the note stripped; "" when none was given.
        p.text(data, "note", where, MAX_NOTE, required=False, multiline=True, stripped=True)
        or "", closed_at, closed_by,
        p.record_id(data, where),
    )  # fmt: skip


KINDS: tuple[HistoryKind, ...] = (
    HistoryKind("assessment", "ClinicalImpression", decode,
                lambda repo, a: repo.add_assessment(a), lambda a: a.at),
)  # fmt: skip
"""The assessment history kinds the import takes back (:mod:`thecal.interop.fhir_history`)."""
