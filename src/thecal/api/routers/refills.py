"""``POST /api/v1/patients/{id}/refills``: record a refill done now."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from thecal.api.context import services
from thecal.api.deps import VERSION_MAX, QuantityIn, quantity, writer
from thecal.api.errors import input_error, responses, write_refused
from thecal.api.routers.patients import refill_json
from thecal.api.schemas import RefillOut
from thecal.clinic.model import User
from thecal.clinic.services import ClinicServices
from thecal.clinic.workflows import RefillInput
from thecal.therapy.findings import OverrideError
from thecal.units import Dimension, InputError

router = APIRouter(tags=["refills"])


class RefillIn(BaseModel):
    withdrawn: QuantityIn
    filled: QuantityIn
    drug_lot: str = Field(min_length=1)
    confirmed_after_fill: QuantityIn | None = None
    planned_refill: datetime | None = None
    overrides: dict[str, str] = Field(default_factory=dict)
    patient_version: int = Field(ge=1, le=VERSION_MAX)


def known_patient(svc: ClinicServices[Any], patient_id: str) -> None:
    """404 unless ``patient_id`` is a patient (checked before the body is looked at)."""
    try:
        svc.patient(patient_id=patient_id)
    except InputError as exc:
        raise input_error(exc) from None


@router.post("/patients/{patient_id}/refills", status_code=201, response_model=RefillOut,
             response_model_exclude_unset=True,
             responses=responses(401, 403, 404, 409, 413, 422))  # fmt: skip
def refill(patient_id: str, body: RefillIn, user: User = Depends(writer),
           svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Record a refill done now, computed from ``patient_version``. 409 when a hard finding
    refuses, a soft one lacks a reason, or the patient changed since that version; 403 for a
    viewer, or when only a physician may give a reason it needs."""
    known_patient(svc, patient_id)
    v = Dimension.VOLUME
    try:
        entry = RefillInput(
            quantity(body.withdrawn, "refill.withdrawn", v),
            quantity(body.filled, "refill.filled", v),
            body.drug_lot,
            quantity(body.confirmed_after_fill, "refill.confirmed_after_fill", v)
            if body.confirmed_after_fill else None,
            body.planned_refill, (), body.overrides,
        )  # fmt: skip
        out = svc.record_refill(actor=user, patient_id=patient_id, entry=entry,
                                patient_version=body.patient_version)  # fmt: skip
    except (InputError, OverrideError) as exc:
        raise write_refused(exc) from None
    return refill_json(out.record)
