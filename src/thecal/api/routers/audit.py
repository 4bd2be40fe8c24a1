"""``/api/v1/audit``: the audit log, newest first, filtered by who, what, when and patient.
A physician or a nurse may read it; a viewer gets 403 (:mod:`thecal.clinic.audit_view`)."""

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from thecal.api.context import services
from thecal.api.deps import api_user
from thecal.api.errors import input_error, responses
from thecal.clinic.audit_view import PAGE_SIZE, AuditFilters, AuditLine, parse_page, read_audit
from thecal.clinic.model import User
from thecal.clinic.services import ClinicServices
from thecal.units import InputError

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    """One write: when (clinic local time), who and their role, what (action on a record),
    why, and a short summary of what changed."""

    seq: int
    at: str
    actor: str
    role: str
    action: str
    entity: str
    entity_id: str
    reason: str
    summary: str


class AuditPageOut(BaseModel):
    page: int
    page_size: int
    more: bool
    entries: list[AuditEntryOut]


def entry_json(line: AuditLine) -> dict[str, Any]:
    r = line.record
    return {"seq": r.seq, "at": r.at.isoformat(), "actor": r.actor, "role": line.role,
            "action": r.action, "entity": r.entity, "entity_id": r.entity_id,
            "reason": r.reason, "summary": line.summary}  # fmt: skip


@router.get("/audit", response_model=AuditPageOut, responses=responses(401, 403, 422))
def audit(
    who: str | None = Query(None, description="username (exact)"),
    what: str | None = Query(None, description="action (insert, update) or record kind"),
    since: str | None = Query(None, alias="from", description="first day, YYYY-MM-DD"),
    until: str | None = Query(None, alias="to", description="last day (included), YYYY-MM-DD"),
    patient: str | None = Query(None, description="patient id or MRN"),
    page: str | None = Query(None, description=f"page number from 1, {PAGE_SIZE} per page"),
    user: User = Depends(api_user),
    svc: ClinicServices[Any] = Depends(services),
) -> dict[str, Any]:
    """The audit log, newest first, one page. 403 for a viewer; 422 naming the field for a
    bad filter (a date that is not YYYY-MM-DD, ``to`` before ``from``, an unknown patient)."""
    try:
        found = read_audit(svc.uow, actor=user, page=parse_page(page),
                           filters=AuditFilters(who, what, since, until, patient))  # fmt: skip
    except InputError as exc:
        raise input_error(exc) from None
    return {"page": found.page, "page_size": PAGE_SIZE, "more": found.more,
            "entries": [entry_json(line) for line in found.lines]}  # fmt: skip
