"""``/api/v1/patients/{id}/assessments``: decision-support assessments recorded on a patient.
The body's ``entry`` is what the clinician enters (symptoms, onset, pocket and operative
findings; docs/decision.md); the registry gives the rest. The rules propose prompts; they
never diagnose (``statement`` in every result)."""

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from thecal.adapters.decision_files import assessment_services
from thecal.api.context import services
from thecal.api.deps import VERSION_MAX, api_user, writer
from thecal.api.errors import input_error, responses, write_refused
from thecal.api.routers.refills import known_patient
from thecal.clinic.assessment_ports import AssessmentKind, AssessmentRecord
from thecal.clinic.assessment_workflow import MAX_NOTE
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import User
from thecal.clinic.services import ClinicServices
from thecal.units import InputError

router = APIRouter(tags=["assessments"])


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entry: dict[str, Any] = Field(default_factory=dict)
    device_id: str | None = Field(None, max_length=64)
    kind: Literal["clinician", "replacement", "operative"] = "clinician"
    note: str = Field("", max_length=MAX_NOTE)
    patient_version: int = Field(ge=1, le=VERSION_MAX)


class AssessmentOut(BaseModel):
    """One recorded assessment: who, when, the presentation given to the rules and their
    ``result`` (urgency, prompts, differential, workup, must_not_miss, fired, statement)."""

    id: str
    patient_id: str
    device_id: str | None
    at: str
    by: str
    kind: str
    urgency: str
    note: str
    open: bool
    closed_at: str | None
    closed_by: str | None
    presentation: dict[str, Any]
    result: dict[str, Any]


def assessment_json(r: AssessmentRecord) -> dict[str, Any]:
    return {
        "id": r.id, "patient_id": r.patient_id, "device_id": r.device_id,
        "at": r.at.isoformat(), "by": r.by, "kind": r.kind.value, "urgency": r.urgency,
        "note": r.note, "open": r.open,
        "closed_at": None if r.closed_at is None else r.closed_at.isoformat(),
        "closed_by": r.closed_by, "presentation": r.presentation, "result": r.result,
    }  # fmt: skip


@router.get("/patients/{patient_id}/assessments", response_model=list[AssessmentOut],
            responses=responses(401, 404))  # fmt: skip
def assessments(patient_id: str, _: User = Depends(api_user),
                svc: ClinicServices[Any] = Depends(services)) -> list[dict[str, Any]]:  # fmt: skip
    """The patient's assessments, newest first."""
    try:
        found = assessment_services(svc).assessments(patient_id=patient_id)
    except InputError as exc:
        raise input_error(exc) from None
    return [assessment_json(r) for r in found]


@router.post("/patients/{patient_id}/assessments", status_code=201,
             response_model=AssessmentOut,
             responses=responses(401, 403, 404, 409, 413, 422))  # fmt: skip
def record(patient_id: str, raw: dict[str, Any] = Body(), user: User = Depends(writer),
           svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Run the decision rules on the registry and ``entry`` and record the result (audited),
    computed from ``patient_version`` (409 when the patient changed since), about
    ``device_id``: one of the patient's pumps or stimulators in place (omitted: the drug pump,
    else the stimulator; a ``replacement`` assessment of that device clears its ERI / EOS
    worklist line). 403 for a viewer; 422 naming the field of a bad entry (e.g.
    ``symptoms.0.kind``, ``assessment.device`` for a device removed or not this patient's)."""
    known_patient(svc, patient_id)  # 404 before the body is looked at
    try:
        body = AssessmentIn.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        field = "assessment." + ".".join(str(x) for x in e["loc"])
        raise input_error(InputError(field, str(e["msg"]))) from None
    try:
        out = assessment_services(svc).record(
            actor=user, patient_id=patient_id, entry=body.entry, device_id=body.device_id,
            kind=AssessmentKind(body.kind), note=body.note,
            patient_version=body.patient_version,
        )  # fmt: skip
    except (InputError, PermissionDenied) as exc:
        raise write_refused(exc) from None
    return assessment_json(out)
