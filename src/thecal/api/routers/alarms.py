"""``/api/v1/alarms``: the clinic's alarms (raised from the implants' alarms at each
interrogation), acknowledged and resolved with who, when and why."""

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from thecal.api.context import services
from thecal.api.deps import api_user, writer
from thecal.api.errors import input_error, responses, write_refused
from thecal.clinic.alarms import MAX_RESOLUTION
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import Alarm, User
from thecal.clinic.services import ClinicServices
from thecal.units import InputError

router = APIRouter(tags=["alarms"])


class AlarmOut(BaseModel):
    """An alarm: what (code, level, message), when raised, acknowledged and resolved, by whom."""

    id: str
    patient_id: str
    patient: str
    device_id: str | None
    code: str
    level: str
    message: str
    raised_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None
    resolved_by: str | None
    resolution: str | None


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=MAX_RESOLUTION)


def alarm_json(a: Alarm, names: dict[str, str]) -> dict[str, Any]:
    def when(t: Any) -> str | None:
        return None if t is None else str(t.isoformat())

    return {
        "id": a.id, "patient_id": a.patient_id, "patient": names.get(a.patient_id, ""),
        "device_id": a.device_id, "code": a.code, "level": a.level, "message": a.message,
        "raised_at": a.raised_at.isoformat(), "acknowledged_at": when(a.acknowledged_at),
        "acknowledged_by": a.acknowledged_by, "resolved_at": when(a.cleared_at),
        "resolved_by": a.cleared_by, "resolution": a.resolution,
    }  # fmt: skip


@router.get("/alarms", response_model=list[AlarmOut], responses=responses(401, 404))
def alarms(patient_id: str | None = None, _: User = Depends(api_user),
           svc: ClinicServices[Any] = Depends(services)) -> list[dict[str, Any]]:  # fmt: skip
    """Every open alarm, oldest first; with ``patient_id`` that patient's alarms, open and
    resolved."""
    try:
        found = svc.alarms.list(patient_id=patient_id)
    except InputError as exc:
        raise input_error(exc) from None
    return [alarm_json(a, found.names) for a in found.alarms]


def _one(svc: ClinicServices[Any], alarm: Alarm) -> dict[str, Any]:
    name = svc.patient(patient_id=alarm.patient_id).display_name
    return alarm_json(alarm, {alarm.patient_id: name})


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmOut,
             responses=responses(401, 403, 404))  # fmt: skip
def acknowledge(alarm_id: str, user: User = Depends(writer),
                svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Acknowledge an open alarm now (the first acknowledgement is kept). 403 for a viewer,
    404 when no open alarm has this id."""
    try:
        return _one(svc, svc.alarms.acknowledge(actor=user, alarm_id=alarm_id))
    except (InputError, PermissionDenied) as exc:
        raise write_refused(exc) from None


@router.post("/alarms/{alarm_id}/resolve", response_model=AlarmOut,
             responses=responses(401, 403, 404, 413, 422))  # fmt: skip
def resolve(alarm_id: str, body: ResolveIn, user: User = Depends(writer),
            svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Resolve an open alarm now with ``reason`` (why). 403 for a viewer, 404 when no open
    alarm has this id, 422 for a blank or too long reason."""
    try:
        return _one(svc, svc.alarms.resolve(actor=user, alarm_id=alarm_id, why=body.reason))
    except (InputError, PermissionDenied) as exc:
        raise write_refused(exc) from None
