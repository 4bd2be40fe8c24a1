"""The audit viewer: GET /audit, the hash-chained audit log newest first, filtered by who
(username), what (action or record kind), when (from and to days, both included) and patient
(id or MRN), :data:`~thecal.clinic.audit_view.PAGE_SIZE` entries a page. A physician or a
nurse may read it; a viewer gets the 403 page. A bad filter: the 422 page naming the field."""

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from thecal.api.context import AppContext, context
from thecal.clinic.audit_view import PAGE_SIZE, AuditFilters, parse_page, read_audit
from thecal.clinic.model import User
from thecal.web.pages_common import page_user, render

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    who: str = "",
    what: str = "",
    since: str = Query("", alias="from"),
    until: str = Query("", alias="to"),
    patient: str = "",
    page: str = "",
    user: User = Depends(page_user),
    ctx: AppContext = Depends(context),
) -> Response:
    """One page of the audit log (InputError → the 422 / 403 page, by the app's handler)."""
    filters = AuditFilters(who, what, since, until, patient)
    found = read_audit(ctx.uow, actor=user, filters=filters, page=parse_page(page))
    kept = {k: v for k, v in (("who", who), ("what", what), ("from", since), ("to", until),
                              ("patient", patient)) if v.strip()}  # fmt: skip

    def link(to_page: int) -> str:
        return "/audit?" + urlencode({**kept, "page": to_page})

    return render(request, ctx, "audit.html", user=user, found=found, form=filters,
                  page_size=PAGE_SIZE, previous=link(found.page - 1) if found.page > 1 else None,
                  next=link(found.page + 1) if found.more else None)  # fmt: skip
