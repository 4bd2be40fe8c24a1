"""The worklist page: GET /worklist, what needs a clinician's attention
(:func:`thecal.clinic.worklist.worklist`: open alarms, hard reconciliation findings, uncertain
link deliveries, findings of the latest refills and of the stimulators, urgent open
assessments, batteries at ERI or EOS, and the overdue refills as one counted line linking to
the calendar's overdue list), most urgent first, each with its level as text and a link to the
patient; the patients' names in one read. Paged by ``offset`` (``ROWS`` a page) with counts
per kind for the whole list. Any signed-in user may read it. The automatic prompts (the
decision rules on the registry) load after it from GET /worklist/automatic.

Also the patient page's hook: :func:`replacement_due` (the batteries at ERI or EOS awaiting
their pre-replacement checklist, for ``_replacement_due.html``)."""

from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from thecal.api.context import AppContext, context
from thecal.clinic.model import User
from thecal.clinic.worklist import page_of
from thecal.clinic.worklist_replacement import (
    ReplacementDue,
    checklist_path,
    replacements_due_for,
)
from thecal.web.pages_common import TEMPLATES, level_class, page_user, render

router = APIRouter()

ROWS = 200  # items a page; hard items sort first, so the first page shows them

# The worklist's kinds in a person's words.
KINDS = {
    "alarm": "implant alarm", "reconciliation": "interrogation vs record",
    "refill-finding": "last refill", "stimulator-finding": "stimulator",
    "refill-overdue": "refills overdue", "link-delivery": "unacknowledged pump write",
    "assessment": "open assessment", "replacement": "battery at ERI/EOS",
}  # fmt: skip


def urgency_class(level: str) -> str:
    """The status class of a worklist level: an overdue refill is hard (the pump may run dry),
    otherwise as a finding level or an alarm priority (:func:`level_class`)."""
    return "status-hard" if level == "overdue" else level_class(level)


def checklist_url(patient_id: str, device_id: str) -> str:
    """The pre-replacement checklist of ``device_id`` of ``patient_id`` (an assessment of kind
    replacement, that device chosen)."""
    return checklist_path(patient_id, quote(device_id, safe=""))


def replacement_due(request: Request, patient_id: str) -> list[ReplacementDue]:
    """The patient's pumps and stimulators at ERI or EOS with no checklist since (patient page)."""
    ctx: AppContext = request.app.state.ctx
    svc = ctx.services
    with ctx.uow.reader() as repo:
        return replacements_due_for(repo, svc.catalog, svc.stimulation, patient_id)


TEMPLATES.env.globals["replacement_due"] = replacement_due
TEMPLATES.env.globals["checklist_url"] = checklist_url


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(request: Request, offset: int = Query(0, ge=0, le=10**9),
                  user: User = Depends(page_user),
                  ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """The worklist, most urgent first (the order :func:`~thecal.clinic.worklist.worklist`
    gives), one page with the counts per kind, with the patients' names (one read)."""
    page = page_of(ctx.services.worklist(), ROWS, offset)
    with ctx.uow.reader() as repo:
        names = repo.patient_names({i.patient_id for i in page.items if i.patient_id})
    return render(request, ctx, "worklist.html", user=user, page=page, items=page.items,
                  names=names, kinds=KINDS, urgency_class=urgency_class,
                  checklist_url=checklist_url, rows=ROWS)  # fmt: skip


@router.get("/worklist/automatic", response_class=HTMLResponse)
def automatic_page(request: Request, user: User = Depends(page_user),
                   ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """The automatic prompts (the decision rules on the registry alone): the section alone for
    the worklist page's htmx load, else a page of its own."""
    fragment = request.headers.get("HX-Request") == "true"
    template = "_automatic_prompts.html" if fragment else "worklist_automatic.html"
    return render(request, ctx, template, user=user)
