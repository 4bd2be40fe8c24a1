"""The refill form: entry, the live calculation fragment (htmx), the review step with findings
to override, and the recorded refill."""

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from thecal.api.context import AppContext, context
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import User
from thecal.clinic.workflows import RefillInput
from thecal.therapy.findings import Level, OverrideError, OverrideNotAllowed
from thecal.units import Dimension, InputError, parse_quantity
from thecal.web.pages_common import (
    TEMPLATES,
    check_csrf,
    form_version,
    page_user,
    refusal,
    render,
    saved_url,
    write_form,
    write_status,
)


def _refill_entry(withdrawn: str, filled: str, drug_lot: str, form: dict[str, str],
                  lot_required: bool = True) -> RefillInput:  # fmt: skip
    if lot_required and not drug_lot.strip():
        raise InputError("refill.drug_lot", "is required", "the lot number on the vial")
    reasons = {k[len("reason:"):]: v for k, v in form.items()
               if k.startswith("reason:") and v.strip()}  # fmt: skip
    return RefillInput(
        parse_quantity(withdrawn, "refill.withdrawn", Dimension.VOLUME),
        parse_quantity(filled, "refill.filled", Dimension.VOLUME),
        drug_lot.strip(), overrides=reasons,
    )  # fmt: skip


router = APIRouter()


@router.get("/patients/{patient_id}/refill", response_class=HTMLResponse)
def refill_form(patient_id: str, request: Request, user: User = Depends(page_user),
                ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    try:
        p = ctx.services.patient(patient_id=patient_id)
    except InputError:
        raise HTTPException(404, "no such patient") from None
    return render(request, ctx, "refill.html", user=user, p=p, error=None, outcome=None,
                  form={"withdrawn": "", "filled": "", "drug_lot": ""})  # fmt: skip


@router.post("/patients/{patient_id}/refill/preview", response_class=HTMLResponse)
async def refill_preview(patient_id: str, request: Request, user: User = Depends(page_user),
                         ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """The refill form's calculation fragment, live as the nurse types (htmx): the numbers
    and findings of the review step, computed without writing anything. It only reads, so
    any signed-in user with the form's CSRF token may ask, viewers too (like the patient
    page). Bad input is shown in the fragment, naming the field, with status 200 so htmx
    swaps it in; the drug lot is not needed for the numbers."""
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items()}
    check_csrf(request, ctx, form.get("csrf", ""))
    try:
        ctx.services.patient(patient_id=patient_id)
    except InputError:
        raise HTTPException(404, "no such patient") from None
    outcome, error = None, None
    try:
        entry = _refill_entry(form.get("withdrawn", ""), form.get("filled", ""),
                              form.get("drug_lot", ""), form, lot_required=False)  # fmt: skip
        outcome = ctx.services.preview_refill(actor=user, patient_id=patient_id, entry=entry)
    except InputError as exc:
        error = exc.in_words()  # a fragment, not through render(): the field in words here
    values = {"outcome": outcome, "error": error, "live": True}
    return TEMPLATES.TemplateResponse(request, "_refill_calculation.html", values,
                                      headers={"Cache-Control": "no-store"})  # fmt: skip


@router.post("/patients/{patient_id}/refill", response_class=HTMLResponse)
async def refill_post(patient_id: str, request: Request, user: User = Depends(page_user),
                      ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    form = await write_form(request, ctx, user, "record refills")
    try:
        record = ctx.services.patient_record(patient_id=patient_id)
    except InputError:
        raise HTTPException(404, "no such patient") from None
    p, previous = record.patient, record.refills[-1] if record.refills else None
    values = {k: form.get(k, "") for k in ("withdrawn", "filled", "drug_lot")}
    try:
        entry = _refill_entry(values["withdrawn"], values["filled"], values["drug_lot"],
                              form)  # fmt: skip
        if form.get("step") != "confirm":
            outcome = ctx.services.review_refill(actor=user, patient_id=patient_id,
                                                 entry=entry)  # fmt: skip
            return render(request, ctx, "refill.html", user=user, p=p, error=None,
                          outcome=outcome, previous=previous, form=values,
                          reasons=entry.overrides, Level=Level)  # fmt: skip
        ctx.services.record_refill(actor=user, patient_id=patient_id, entry=entry,
                                   patient_version=form_version(form))  # fmt: skip
    except (PermissionDenied, OverrideNotAllowed) as exc:
        return render(request, ctx, "refill.html", 403, user=user, p=p, error=refusal(exc),
                      outcome=None, form=values)  # fmt: skip
    except (InputError, OverrideError) as exc:
        return render(request, ctx, "refill.html", write_status(exc), user=user, p=p,
                      error=str(exc), outcome=None, form=values)  # fmt: skip
    return RedirectResponse(saved_url(f"/patients/{patient_id}", "refill"), 303)
