"""``/api/v1/patients/{id}/interrogations``: the stored interrogations of a patient's pump."""

from typing import Any

from fastapi import APIRouter, Depends

from thecal.api.context import services
from thecal.api.deps import api_user
from thecal.api.errors import input_error, responses
from thecal.api.schemas import InterrogationDetail, InterrogationOut
from thecal.clinic.interrogation import SnapshotView, read_snapshot
from thecal.clinic.model import User
from thecal.clinic.services import ClinicServices
from thecal.units import InputError, ucum_json

router = APIRouter(tags=["interrogations"])


def interrogation_json(v: SnapshotView) -> dict[str, Any]:
    """The summary of a stored interrogation (the list): who, when, pump, reservoir, alarms and
    the findings of its reconciliation with the record."""
    i = v.interrogation
    estimate = v.reservoir_estimate
    return {
        "id": i.id, "at": i.at.isoformat(), "by": i.by, "device_id": i.device_id,
        "serial": v.serial, "model": v.model,
        "device_time": v.device_time.isoformat() if v.device_time else None,
        "delivering": v.delivering, "holds": list(v.holds),
        "reservoir_estimate": None if estimate is None else ucum_json(estimate, "mL"),
        "alarms": [a.name for a in v.active_alarms], "events": len(v.events),
        "findings": [f.to_json() for f in i.findings],
    }  # fmt: skip


@router.get("/patients/{patient_id}/interrogations", response_model=list[InterrogationOut],
            responses=responses(401, 404))  # fmt: skip
def interrogations(
    patient_id: str, _: User = Depends(api_user), svc: ClinicServices[Any] = Depends(services)
) -> list[dict[str, Any]]:
    """The patient's stored interrogations, newest first (summary fields)."""
    try:
        stored = svc.interrogations(patient_id=patient_id)
    except InputError as exc:
        raise input_error(exc) from None
    return [interrogation_json(read_snapshot(i)) for i in reversed(stored)]


@router.get("/patients/{patient_id}/interrogations/{interrogation_id}",
            response_model=InterrogationDetail, responses=responses(401, 404))  # fmt: skip
def interrogation(patient_id: str, interrogation_id: str, _: User = Depends(api_user),
                  svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """One stored interrogation: the summary plus the full status snapshot and event log as
    the programmer stored them. 404 for another patient's interrogation."""
    try:
        record = svc.interrogation(patient_id=patient_id, interrogation_id=interrogation_id)
    except InputError as exc:
        raise input_error(exc) from None
    return {**interrogation_json(read_snapshot(record)), "status": record.status,
            "log": list(record.log)}  # fmt: skip
