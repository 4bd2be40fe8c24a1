"""``/api/v1/patients``: the patient list and one patient's record (devices, prescription in
force, refills)."""

from typing import Any

from fastapi import APIRouter, Depends

from thecal.api.context import services
from thecal.api.deps import api_user
from thecal.api.errors import input_error, responses
from thecal.api.schemas import PatientOut, PatientSummary
from thecal.clinic.model import RefillRecord, User
from thecal.clinic.services import ClinicServices
from thecal.units import InputError, ucum_json

router = APIRouter(tags=["patients"])


def refill_json(r: RefillRecord) -> dict[str, Any]:
    return {
        "id": r.id, "performed_at": r.performed_at.isoformat(), "by": r.by,
        "expected_remaining": ucum_json(r.expected_remaining, "mL"),
        "withdrawn": ucum_json(r.withdrawn, "mL"), "discrepancy": ucum_json(r.discrepancy, "mL"),
        "filled": ucum_json(r.filled, "mL"), "drug_lot": r.drug_lot,
        "refill_by": r.refill_by.isoformat() if r.refill_by else None,
        "decided_by": r.decided_by,
        "findings": [f.to_json() for f in r.findings],
        "overrides": dict(r.overrides),
    }  # fmt: skip


@router.get("/patients", response_model=list[PatientSummary], responses=responses(401))
def patients(_: User = Depends(api_user),
             svc: ClinicServices[Any] = Depends(services)) -> list[dict[str, Any]]:  # fmt: skip
    return [{"id": p.id, "mrn": p.mrn, "name": p.display_name, "version": p.version}
            for p in svc.patients()]  # fmt: skip


@router.get("/patients/{patient_id}", response_model=PatientOut,
            response_model_exclude_unset=True, responses=responses(401, 404))  # fmt: skip
def patient(patient_id: str, _: User = Depends(api_user),
            svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """The patient with devices, the prescription in force (its plan) and refills; ``version``
    is what writes name as ``patient_version``."""
    try:
        record = svc.patient_record(patient_id=patient_id)
    except InputError as exc:
        raise input_error(exc) from None
    p, rx = record.patient, record.prescription
    return {
        "id": p.id, "mrn": p.mrn, "name": p.display_name, "version": p.version,
        "devices": [{"id": d.id, "kind": d.kind.value, "model": d.model, "serial": d.serial,
                     "implanted_on": d.implanted_on.isoformat(),
                     "removed_on": d.removed_on.isoformat() if d.removed_on else None}
                    for d in record.devices],
        "prescription": None if rx is None else {"version": rx.version,
                                                 "plan": rx.plan().model_dump(mode="json")},
        "refills": [refill_json(r) for r in record.refills],
    }  # fmt: skip
