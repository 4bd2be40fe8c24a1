"""``GET /api/v1/fhir/Patient/{id}/$everything``: one patient's record as a FHIR R4 Bundle of
type ``collection`` (docs/fhir.md), sent as ``application/fhir+json``. Any logged-in user may
read it (a viewer too), as the patient record itself; like the other reads of the API it is not
audited (the audit log records writes). ``{id}`` is the Thecal patient id; the clinic's local
times carry the server machine's time zone."""

from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from thecal.api.context import services
from thecal.api.deps import api_user
from thecal.api.errors import input_error, responses
from thecal.clinic.model import User
from thecal.clinic.services import ClinicServices
from thecal.interop.fhir_export import export_patient
from thecal.units import InputError

router = APIRouter(tags=["fhir"])

FHIR_JSON = "application/fhir+json"


class BundleOut(BaseModel):
    """A FHIR R4 Bundle (each entry: ``fullUrl`` and ``resource``; see docs/fhir.md)."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["Bundle"]  # FHIR's element name
    type: Literal["collection"]
    entry: list[dict[str, Any]]


@router.get(
    "/fhir/Patient/{patient_id}/$everything",
    response_model=BundleOut,
    responses={
        200: {"content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/BundleOut"}}}},
        **responses(401, 404),
    },
)
def everything(
    patient_id: str,
    _: User = Depends(api_user),
    svc: ClinicServices[Any] = Depends(services),
) -> JSONResponse:
    """Everything Thecal records of the patient as a FHIR R4 ``collection`` Bundle."""
    try:
        bundle = export_patient(svc.uow, patient_id=patient_id, library=svc.library,
                                catalog=svc.catalog)  # fmt: skip
    except InputError as exc:
        raise input_error(exc) from None
    return JSONResponse(bundle, media_type=FHIR_JSON)
