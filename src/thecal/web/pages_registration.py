"""Registration pages (issue 13): the patient list with search, the new-patient form, a
patient's registration (devices with UDI and pocket side, procedures, complications) and the
forms that record a procedure with its device and a complication.

A viewer sees no write button and is refused (403) by the forms; a refused value re-shows the
form with status 422 naming the field, nothing written; a stale form (someone wrote for the
patient since) is 409. After a write: 303 to the registration page with a success message.
"""

import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from thecal.api.context import AppContext, context
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import ComplicationCode, DeviceKind, ProcedureKind, User
from thecal.clinic.registration import CKD_STAGES, DiagnosisCode, PocketSide, Sex, day
from thecal.clinic.registration_services import LeadInput
from thecal.units import InputError
from thecal.web.pages_common import form_version, page_user, render, write_form, write_status

router = APIRouter()
ROWS = 50  # patients per page of the list
_SAVED = {"patient": "Patient registered.", "updated": "Registration saved.",
          "procedure": "Procedure recorded.", "complication": "Complication recorded."}  # fmt: skip
_UNIT = re.compile(r"[A-Za-zµ]")


def _writer(user: User, action: str) -> None:
    if not user.can_write:
        raise HTTPException(403, f"{user.username} ({user.role.value}) may not {action}")


def _choices(ctx: AppContext) -> dict[str, Any]:
    """What the forms offer: catalog models, codes and sides."""
    stim = ctx.services.stimulation
    return {
        "pumps": [p.model for p in ctx.catalog.pumps],
        "catheters": [c.model for c in ctx.catalog.catheters],
        "ipgs": [i.model for i in stim.catalog.ipgs] if stim else [],
        "lead_models": [x.model for x in stim.catalog.leads] if stim else [],
        "sexes": [s.value for s in Sex], "sides": [s.value for s in PocketSide],
        "diagnosis_codes": [d.value for d in DiagnosisCode], "ckd_stages": CKD_STAGES,
        "device_kinds": [k.value for k in DeviceKind if k is not DeviceKind.LEAD],
        "procedure_kinds": [k.value for k in ProcedureKind],
        "complication_codes": [c.value for c in ComplicationCode],
    }  # fmt: skip


@router.get("/patients", response_class=HTMLResponse)
def patients_page(
    request: Request, q: str = Query("", max_length=200),
    offset: int = Query(0, ge=0, le=10**9), saved: str = Query("", max_length=40),
    user: User = Depends(page_user), ctx: AppContext = Depends(context),
) -> Response:  # fmt: skip
    """The registry: patients whose MRN, name or id contains ``q``, by MRN, one page."""
    try:
        page = ctx.services.registration.search(query=q, limit=ROWS, offset=offset)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    return render(request, ctx, "patients.html", user=user, page=page, q=q,
                  flash=_SAVED.get(saved), rows=ROWS)  # fmt: skip


def _new_patient(request: Request, ctx: AppContext, user: User, form: dict[str, str],
                 error: str | None, status: int, p: Any = None) -> Response:  # fmt: skip
    # One form for both: ``p`` (the patient being edited) or None (a new one).
    return render(request, ctx, "patient_new.html", status, user=user, form=form, error=error,
                  p=p, **_choices(ctx))  # fmt: skip


@router.get("/patients/new", response_class=HTMLResponse)
def patient_new_form(request: Request, user: User = Depends(page_user),
                     ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    _writer(user, "register patients")
    return _new_patient(request, ctx, user, {}, None, 200)


def _diagnoses(form: dict[str, str]) -> list[str]:
    # Checkboxes per code; CKD with its stage, spasticity with its origin, other with its text.
    out = []
    for code in DiagnosisCode:
        if form.get(f"dx:{code.value}") != "on":
            continue
        detail = {"ckd": "ckd_stage", "spasticity": "spasticity_origin", "other": "other_text"}
        key = detail.get(code.value)
        out.append(f"{code.value}:{form.get(key, '')}" if key else code.value)
    return out


@router.post("/patients/new", response_class=HTMLResponse)
async def patient_new(request: Request, user: User = Depends(page_user),
                      ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    form = await write_form(request, ctx, user, "register patients")
    reg = ctx.services.registration
    raw = {**form, "diagnoses": _diagnoses(form)}
    try:
        made = reg.register(actor=user, entry=reg.patient_input(raw))
    except PermissionDenied as exc:
        raise HTTPException(403, exc.message) from None
    except InputError as exc:
        return _new_patient(request, ctx, user, form, str(exc), write_status(exc))
    return RedirectResponse(f"/patients/{made.patient.id}/registration?saved=patient", 303)


@router.get("/patients/{patient_id}/registration", response_class=HTMLResponse)
def registration_page(
    patient_id: str, request: Request, saved: str = Query("", max_length=40),
    user: User = Depends(page_user), ctx: AppContext = Depends(context),
) -> Response:  # fmt: skip
    try:
        f = ctx.services.registration.patient_file(patient_id=patient_id)
    except InputError:
        raise HTTPException(404, "no such patient") from None
    return render(request, ctx, "patient_registration.html", user=user, f=f, p=f.patient,
                  flash=_SAVED.get(saved))  # fmt: skip


def _file(ctx: AppContext, patient_id: str) -> Any:
    try:
        return ctx.services.registration.patient_file(patient_id=patient_id)
    except InputError:
        raise HTTPException(404, "no such patient") from None


def _procedure_form(request: Request, ctx: AppContext, user: User, f: Any,
                    form: dict[str, str], error: str | None, status: int) -> Response:  # fmt: skip
    return render(request, ctx, "device_new.html", status, user=user, f=f, p=f.patient,
                  form=form, error=error, **_choices(ctx))  # fmt: skip


@router.get("/patients/{patient_id}/procedures/new", response_class=HTMLResponse)
def procedure_new_form(patient_id: str, request: Request, user: User = Depends(page_user),
                       ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    f = _file(ctx, patient_id)
    _writer(user, "record procedures")
    return _procedure_form(request, ctx, user, f, {"kind": "implant"}, None, 200)


def _length(text: str) -> str:
    # The form shows "cm" beside the field: a bare number is in cm; a typed unit is kept.
    text = text.strip()
    return text if not text or _UNIT.search(text) else f"{text} cm"


def _placed(reg: Any, form: dict[str, str]) -> list[Any]:
    if not form.get("device_kind", "").strip():
        return []
    raw = {"kind": form.get("device_kind"), "model": form.get("model"),
           "serial": form.get("serial"), "udi": form.get("udi"),
           "pocket_side": form.get("pocket_side"), "length": _length(form.get("length", "")),
           "tip_level": form.get("tip_level")}  # fmt: skip
    return [reg.device_input(raw)]


@router.post("/patients/{patient_id}/procedures/new", response_class=HTMLResponse)
async def procedure_new(patient_id: str, request: Request, user: User = Depends(page_user),
                        ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    f = _file(ctx, patient_id)
    form = await write_form(request, ctx, user, "record procedures")
    raw_form = await request.form()
    removed = [str(v) for v in raw_form.getlist("remove")]
    reg = ctx.services.registration
    try:
        version = form_version(form)
        kinds = {k.value: k for k in ProcedureKind}
        kind = kinds.get(form.get("kind", ""))
        if kind is None:
            raise InputError("procedure.kind", f"got {form.get('kind', '')!r}",
                             "one of: " + ", ".join(kinds))  # fmt: skip
        on = day(form.get("performed_on"), "procedure.performed_on", ctx.clock().date())
        assert on is not None
        placed = _placed(reg, form)
        leads = []
        if form.get("lead_name", "").strip():
            leads.append(LeadInput(form["lead_name"], form.get("lead_model", ""),
                                   form.get("lead_position", "")))  # fmt: skip
        reg.procedure(actor=user, patient_id=patient_id, kind=kind, performed_on=on,
                      placed=placed, removed=removed, leads=leads, notes=form.get("notes", ""),
                      patient_version=version)  # fmt: skip
    except PermissionDenied as exc:
        raise HTTPException(403, exc.message) from None
    except InputError as exc:
        return _procedure_form(request, ctx, user, f, form, str(exc), write_status(exc))
    return RedirectResponse(f"/patients/{quote(patient_id)}/registration?saved=procedure", 303)


def _complication_form(
    request: Request, ctx: AppContext, user: User, f: Any, form: dict[str, str],
    error: str | None, status: int,
) -> Response:  # fmt: skip
    return render(request, ctx, "complication_new.html", status, user=user, f=f, p=f.patient,
                  form=form, error=error, **_choices(ctx))  # fmt: skip


@router.get("/patients/{patient_id}/complications/new", response_class=HTMLResponse)
def complication_new_form(patient_id: str, request: Request, user: User = Depends(page_user),
                          ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    f = _file(ctx, patient_id)
    _writer(user, "record complications")
    return _complication_form(request, ctx, user, f, {}, None, 200)


@router.post("/patients/{patient_id}/complications/new", response_class=HTMLResponse)
async def complication_new(patient_id: str, request: Request, user: User = Depends(page_user),
                           ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    f = _file(ctx, patient_id)
    form = await write_form(request, ctx, user, "record complications")
    reg = ctx.services.registration
    try:
        version = form_version(form)
        codes = {c.value: c for c in ComplicationCode}
        code = codes.get(form.get("code", ""))
        if code is None:
            raise InputError("complication.code", f"got {form.get('code', '')!r}",
                             "one of: " + ", ".join(codes))  # fmt: skip
        on = day(form.get("occurred_on"), "complication.occurred_on", ctx.clock().date())
        assert on is not None
        reg.complication(actor=user, patient_id=patient_id, code=code, occurred_on=on,
                         device_id=form.get("device_id") or None, notes=form.get("notes", ""),
                         patient_version=version)  # fmt: skip
    except PermissionDenied as exc:
        raise HTTPException(403, exc.message) from None
    except InputError as exc:
        return _complication_form(request, ctx, user, f, form, str(exc), write_status(exc))
    return RedirectResponse(f"/patients/{quote(patient_id)}/registration?saved=complication",
                            303)  # fmt: skip


def _as_form(f: Any) -> dict[str, str]:
    """The patient's registration as the form's fields."""
    d = f.details
    form = {"mrn": f.patient.mrn, "name": f.patient.display_name}
    if d is None:
        return form
    form.update({"date_of_birth": d.date_of_birth.isoformat(), "sex": d.sex.value,
                 "contact": d.contact})  # fmt: skip
    detail = {"ckd": "ckd_stage", "spasticity": "spasticity_origin", "other": "other_text"}
    for x in d.diagnoses:
        form[f"dx:{x.code.value}"] = "on"
        if x.code.value in detail:
            key = detail[x.code.value]
            form[key] = f"{form[key]}; {x.detail}" if form.get(key) else x.detail
    return form


@router.get("/patients/{patient_id}/registration/edit", response_class=HTMLResponse)
def patient_edit_form(patient_id: str, request: Request, user: User = Depends(page_user),
                      ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    f = _file(ctx, patient_id)
    _writer(user, "edit patients")
    return _new_patient(request, ctx, user, _as_form(f), None, 200, f.patient)


@router.post("/patients/{patient_id}/registration/edit", response_class=HTMLResponse)
async def patient_edit(patient_id: str, request: Request, user: User = Depends(page_user),
                       ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    f = _file(ctx, patient_id)
    form = await write_form(request, ctx, user, "edit patients")
    reg = ctx.services.registration
    try:
        version = form_version(form)
        reg.update(actor=user, patient_id=patient_id, version=version,
                   entry=reg.patient_input({**form, "diagnoses": _diagnoses(form)}))  # fmt: skip
    except PermissionDenied as exc:
        raise HTTPException(403, exc.message) from None
    except InputError as exc:
        return _new_patient(request, ctx, user, form, str(exc), write_status(exc), f.patient)
    return RedirectResponse(f"/patients/{quote(patient_id)}/registration?saved=updated", 303)
