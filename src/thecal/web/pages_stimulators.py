"""Stimulator pages: the impedance chart of the patient page and the stimulator program page
(versions, and a proposed change checked by the stimulation gate, stored with a reason)."""

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from thecal.adapters.plan_files import validation_error
from thecal.api.context import AppContext, context
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import User
from thecal.clinic.stimulator_workflow import StimulatorSummary
from thecal.stimulation.program_file import StimulationFile
from thecal.therapy.findings import Level, OverrideError, OverrideNotAllowed
from thecal.units import InputError, fmt
from thecal.web.pages_common import (
    form_version,
    page_user,
    refusal,
    render,
    saved_url,
    write_form,
    write_status,
)
from thecal.web.stimulator_charts import impedance_svg

router = APIRouter()


def _summary(ctx: AppContext, patient_id: str, device_id: str) -> StimulatorSummary:
    try:
        summaries = ctx.services.stimulator_summary(patient_id=patient_id)
    except InputError:
        raise HTTPException(404, "no such patient") from None
    found = next((s for s in summaries if s.device.id == device_id), None)
    if found is None:
        raise HTTPException(404, "no such stimulator")
    return found


@router.get("/patients/{patient_id}/stimulators/{device_id}/impedance.svg")
def impedance_chart(patient_id: str, device_id: str, _: User = Depends(page_user),
                    ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """Impedance per contact with the rolling mean the trend findings use."""
    s = _summary(ctx, patient_id, device_id)
    window = ctx.services.stimulation.trend.window if ctx.services.stimulation else None
    text = impedance_svg(s.trends, fmt(window) if window is not None else "rolling", ctx.clock())
    return Response(text, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def _program_text(s: StimulatorSummary) -> str:
    if not s.programs:
        return ""
    return json.dumps(json.loads(s.programs[-1].program_json), indent=2, ensure_ascii=False)


def _parse(text: str) -> StimulationFile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError("program_json", f"is not JSON: {exc.msg}", "a program (JSON)") from None
    try:
        return StimulationFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, StimulationFile).at("program") from None


@router.get("/patients/{patient_id}/stimulators/{device_id}/program",
            response_class=HTMLResponse)  # fmt: skip
def stim_program_page(patient_id: str, device_id: str, request: Request,
                      user: User = Depends(page_user),
                      ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    s = _summary(ctx, patient_id, device_id)
    p = ctx.services.patient(patient_id=patient_id)
    return render(request, ctx, "stimulator_program.html", user=user, p=p, s=s, Level=Level,
                  findings=None, error=None, text=_program_text(s), reason="",
                  reasons={})  # fmt: skip


@router.post("/patients/{patient_id}/stimulators/{device_id}/program",
             response_class=HTMLResponse)  # fmt: skip
async def stim_program_post(patient_id: str, device_id: str, request: Request,
                            user: User = Depends(page_user),
                            ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    form = await write_form(request, ctx, user, "change stimulator programs")
    s = _summary(ctx, patient_id, device_id)
    p = ctx.services.patient(patient_id=patient_id)
    text, reason = form.get("program_json", ""), form.get("reason", "")
    reasons = {k[len("reason:"):]: v.strip() for k, v in form.items()
               if k.startswith("reason:") and v.strip()}  # fmt: skip
    page: dict[str, Any] = {"user": user, "p": p, "s": s, "Level": Level, "text": text,
                            "reason": reason, "reasons": reasons}  # fmt: skip
    try:
        program = _parse(text)
        preview = ctx.services.preview_stimulator_program(
            actor=user, patient_id=patient_id, device_id=device_id, program=program
        )
        if form.get("step") != "confirm":
            return render(request, ctx, "stimulator_program.html", findings=preview.findings,
                          proposed=preview.check, error=None, **page)  # fmt: skip
        ctx.services.add_stimulator_program(
            actor=user, patient_id=patient_id, device_id=device_id, program=program,
            reason=reason, overrides=reasons, patient_version=form_version(form),
        )  # fmt: skip
    except (PermissionDenied, OverrideNotAllowed) as exc:
        return render(request, ctx, "stimulator_program.html", 403, findings=None,
                      error=refusal(exc), **page)  # fmt: skip
    except (InputError, OverrideError) as exc:
        return render(request, ctx, "stimulator_program.html", write_status(exc),
                      findings=None, error=str(exc), **page)  # fmt: skip
    return RedirectResponse(
        saved_url(f"/patients/{patient_id}/stimulators/{device_id}/program", "stimulator-program"),
        303,
    )
