"""The alarms page: the clinic's open alarms (or one patient's, open and resolved), each with
an acknowledge button and a resolve form (why). After a write: a 303 back to the page with a
success message."""

from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from thecal.api.context import AppContext, context
from thecal.clinic.alarms import MAX_RESOLUTION
from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.model import User
from thecal.units import InputError
from thecal.web.pages_common import check_write, page_user, render

router = APIRouter()

_SAVED = {"acknowledged": "Alarm acknowledged.", "resolved": "Alarm resolved."}


def _back(patient: str, saved: str) -> RedirectResponse:
    query = {"saved": saved, **({"patient": patient} if patient else {})}
    return RedirectResponse(f"/alarms?{urlencode(query)}", status_code=303)


@router.get("/alarms", response_class=HTMLResponse)
def alarms_page(request: Request, patient: str = "", saved: str = "",
                user: User = Depends(page_user),
                ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """Open alarms, oldest first; with ``patient`` that patient's alarms, open and resolved."""
    try:
        found = ctx.services.alarms.list(patient_id=patient or None)
    except InputError:
        raise HTTPException(404, "no such patient") from None
    name = found.names.get(patient, "") if patient else ""
    if patient and not name:
        name = ctx.services.patient(patient_id=patient).display_name
    return render(request, ctx, "alarms.html", user=user, alarms=found.alarms, names=found.names,
                  patient=patient, patient_name=name, saved=_SAVED.get(saved),
                  max_resolution=MAX_RESOLUTION)  # fmt: skip


def _write(request: Request, ctx: AppContext, user: User, csrf: str, action: str,
           run: Callable[[], object]) -> None:  # fmt: skip
    check_write(request, ctx, user, csrf, action)
    try:
        run()
    except PermissionDenied as exc:
        raise HTTPException(403, exc.message) from None
    except NotFoundError:
        raise HTTPException(404, "no open alarm with this id: it may have been resolved") from None
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/alarms/{alarm_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_post(alarm_id: str, request: Request, csrf: str = Form(""),
                     patient: str = Form(""), user: User = Depends(page_user),
                     ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """Acknowledge the alarm now (nurse or physician)."""
    _write(request, ctx, user, csrf, "acknowledge alarms",
           lambda: ctx.services.alarms.acknowledge(actor=user, alarm_id=alarm_id))  # fmt: skip
    return _back(patient, "acknowledged")


@router.post("/alarms/{alarm_id}/resolve", response_class=HTMLResponse)
def resolve_post(alarm_id: str, request: Request, csrf: str = Form(""), reason: str = Form(""),
                 patient: str = Form(""), user: User = Depends(page_user),
                 ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """Resolve the alarm now with the reason given (nurse or physician)."""
    alarms = ctx.services.alarms
    _write(request, ctx, user, csrf, "resolve alarms",
           lambda: alarms.resolve(actor=user, alarm_id=alarm_id, why=reason))  # fmt: skip
    return _back(patient, "resolved")
