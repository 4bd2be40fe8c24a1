"""``POST /api/v1/patients/{id}/program``: a new prescription version through the safety gate."""

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, ValidationError

from thecal.adapters.plan_files import validation_error
from thecal.api.context import services
from thecal.api.deps import VERSION_MAX, writer
from thecal.api.errors import input_error, responses, write_refused
from thecal.api.routers.refills import known_patient
from thecal.api.schemas import ProgramOut
from thecal.clinic.model import StoredFinding, User
from thecal.clinic.services import ClinicServices
from thecal.therapy.findings import OverrideError
from thecal.therapy.plan import PlanFile
from thecal.units import InputError

router = APIRouter(tags=["programs"])


class ProgramIn(BaseModel):
    plan: dict[str, Any]
    reason: str
    overrides: dict[str, str] = Field(default_factory=dict)
    patient_version: int = Field(ge=1, le=VERSION_MAX)


@router.post("/patients/{patient_id}/program", status_code=201, response_model=ProgramOut,
             response_model_exclude_unset=True,
             responses=responses(401, 403, 404, 409, 413, 422))  # fmt: skip
def program(patient_id: str, body: ProgramIn, user: User = Depends(writer),
            svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Store a new prescription version through the safety gate, computed from
    ``patient_version`` (409 when the patient changed since). 403 when the user may not: a
    viewer, a nurse outside the current prescription's bounds, or a reason only a physician
    may give (the clinic service decides, in the write's transaction); 409 for a hard finding
    or a missing reason."""
    known_patient(svc, patient_id)
    try:
        plan = PlanFile.model_validate(body.plan)
    except ValidationError as exc:
        raise input_error(validation_error(exc).at("plan")) from None
    try:
        out = svc.change_program(actor=user, patient_id=patient_id, plan=plan,
                                 reason=body.reason, overrides=body.overrides,
                                 patient_version=body.patient_version)  # fmt: skip
    except (InputError, OverrideError) as exc:
        raise write_refused(exc) from None
    return {"version": out.prescription.version,
            "findings": [StoredFinding.of(f).to_json() for f in out.findings]}  # fmt: skip
