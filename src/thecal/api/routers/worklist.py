"""``/api/v1/worklist``: what needs a person now, worst first, one page with counts.

Every item that needs a person has its own line (open alarms, hard reconciliation findings,
uncertain link deliveries, urgent open assessments, batteries at ERI or EOS, refill and
stimulator findings); the overdue refills are ONE item with their ``count`` and a ``link`` to
the calendar's overdue list, which pages them (``GET /api/v1/calendar?status=overdue``)."""

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from thecal.api.context import services
from thecal.api.deps import api_user
from thecal.api.errors import responses
from thecal.clinic.model import User
from thecal.clinic.services import ClinicServices
from thecal.clinic.worklist import WorkItem, page_of

router = APIRouter(tags=["calendar"])

MAX_LIMIT = 1000  # as the calendar's page


class WorkItemOut(BaseModel):
    """One line. ``patient_id`` is null and ``count`` the number of overdue refills for the
    "refill-overdue" item; ``link``: where to act (the patient, or the calendar's list)."""

    patient_id: str | None
    kind: str
    level: str
    code: str
    message: str
    since: str
    source: str
    count: int
    link: str


class WorklistOut(BaseModel):
    """``total``: items in the whole list; ``counts``: per kind, what the items stand for (the
    overdue refills one by one); ``levels``: items per level; ``items``: the page."""

    today: str
    total: int
    limit: int
    offset: int
    counts: dict[str, int]
    levels: dict[str, int]
    items: list[WorkItemOut]


def link(item: WorkItem) -> str:
    """Where the API client acts on ``item``."""
    if item.patient_id is None:
        return f"/api/v1/calendar?status={item.ref_id}"
    return f"/api/v1/patients/{item.patient_id}"


def item_json(i: WorkItem) -> dict[str, Any]:
    return {"patient_id": i.patient_id, "kind": i.kind, "level": i.level, "code": i.code,
            "message": i.message, "since": i.since.isoformat(), "source": i.source,
            "count": i.count, "link": link(i)}  # fmt: skip


@router.get("/worklist", response_model=WorklistOut, responses=responses(401, 422))
def work(
    limit: int = Query(100, ge=0, le=MAX_LIMIT, description="items per page"),
    offset: int = Query(0, ge=0, le=10**9, description="items to skip"),
    _: User = Depends(api_user),
    svc: ClinicServices[Any] = Depends(services),
) -> dict[str, Any]:
    """The worklist, most severe first then oldest: counts for the whole list and the items
    ``offset`` to ``offset + limit``."""
    page = page_of(svc.worklist(), limit, offset)
    return {
        "today": svc.today().isoformat(), "total": page.total, "limit": page.limit,
        "offset": page.offset, "counts": page.counts, "levels": page.levels,
        "items": [item_json(i) for i in page.items],
    }  # fmt: skip
