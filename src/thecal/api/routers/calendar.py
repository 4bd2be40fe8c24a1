"""``/api/v1/calendar``: what is due (the worklist is :mod:`thecal.api.routers.worklist`)."""

from typing import Any

from fastapi import APIRouter, Depends, Query

from thecal.api.context import services
from thecal.api.deps import api_user
from thecal.api.errors import responses
from thecal.api.schemas import CalendarOut
from thecal.clinic.calendar import CalendarEntry, RefillStatus
from thecal.clinic.model import User
from thecal.clinic.services import ClinicServices
from thecal.units import ucum_json

router = APIRouter(tags=["calendar"])


def calendar_json(e: CalendarEntry) -> dict[str, Any]:
    return {
        "patient_id": e.patient_id, "mrn": e.mrn, "name": e.display_name,
        "status": e.status.value, "due": e.due.isoformat() if e.due else None,
        "days_left": e.days_left, "reason": e.reason, "source": e.source,
    }  # fmt: skip


@router.get("/calendar", response_model=CalendarOut, responses=responses(401, 422))
def calendar(
    status: list[RefillStatus] | None = Query(
        None, description="statuses to list (repeat the parameter); default: all"
    ),
    limit: int = Query(100, ge=0, le=1000, description="entries per page"),
    offset: int = Query(0, ge=0, le=10**9, description="entries to skip"),
    _: User = Depends(api_user),
    svc: ClinicServices[Any] = Depends(services),
) -> dict[str, Any]:
    """The refill calendar, one page: counts per status for the whole clinic, and the entries
    ``offset`` to ``offset + limit`` of the chosen statuses in calendar order."""
    page = svc.calendar(statuses=status or tuple(RefillStatus), limit=limit, offset=offset)
    return {
        "today": page.today.isoformat(), "soon": ucum_json(svc.due_soon, "d"),
        "counts": {s.value: n for s, n in page.counts.items()},
        "statuses": [s.value for s in page.statuses], "total": page.total,
        "limit": page.limit, "offset": page.offset,
        "entries": [calendar_json(e) for e in page.entries],
    }  # fmt: skip
