"""The worklist page: GET /worklist, what needs a clinician's attention
(:func:`thecal.clinic.worklist.worklist`: open alarms, hard reconciliation findings, findings of
the latest refills and of the stimulators, overdue refills), most urgent first, each with its
level as text and a link to the patient. Any signed-in user may read it."""

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from thecal.api.context import AppContext, context
from thecal.clinic.model import User
from thecal.web.pages_common import level_class, page_user, render

router = APIRouter()

# The worklist's kinds in a person's words.
KINDS = {
    "alarm": "implant alarm", "reconciliation": "interrogation vs record",
    "refill-finding": "last refill", "stimulator-finding": "stimulator",
    "refill-overdue": "refill overdue", "link-delivery": "unacknowledged pump write",
    "assessment": "open assessment",
}  # fmt: skip


def urgency_class(level: str) -> str:
    """The status class of a worklist level: an overdue refill is hard (the pump may run dry),
    otherwise as a finding level or an alarm priority (:func:`level_class`)."""
    return "status-hard" if level == "overdue" else level_class(level)


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(request: Request, user: User = Depends(page_user),
                  ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """The worklist, most urgent first (the order :func:`~thecal.clinic.worklist.worklist`
    gives), with the patients' names."""
    items = ctx.services.worklist()
    with ctx.uow.reader() as repo:
        names = {pid: repo.get_patient(pid).display_name for pid in {i.patient_id for i in items}}
    return render(request, ctx, "worklist.html", user=user, items=items, names=names,
                  kinds=KINDS, urgency_class=urgency_class)  # fmt: skip
