"""The program change form: current vs proposed program side by side, the findings to
override with a reason, and the confirmed change."""

import tomllib
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from thecal.adapters.plan_files import parse_plan
from thecal.api.context import AppContext, context
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import User
from thecal.therapy.delivery import daily_dose
from thecal.therapy.findings import Level, OverrideError, OverrideNotAllowed
from thecal.therapy.plan_file import PlanFile
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


def program_rows(ctx: AppContext, current: PlanFile | None,
                 proposed: PlanFile) -> list[tuple[str, str, str]]:  # fmt: skip
    """Current and proposed programs side by side: pump, concentrations, schedule, patient
    bolus, alarm threshold and the daily dose per drug (nominal and worst case, mass/d)."""

    def describe(plan: PlanFile | None) -> dict[str, str]:
        if plan is None:
            return {}
        out = {"pump": plan.pump.model,
               "low-reservoir alarm": plan.pump.low_reservoir_alarm or "catalog value"}  # fmt: skip
        for i in plan.admixture:
            out[f"{i.drug} concentration"] = i.concentration
        sched = plan.schedule
        out["schedule"] = sched.mode + (f", dose {sched.dose}" if sched.dose else "") + (
            f", rate {sched.rate}" if sched.rate else "") + (
            f", {len(sched.steps)} steps" if sched.steps else "")  # fmt: skip
        pb = plan.patient_bolus
        out["patient bolus"] = "none" if pb is None else (
            f"{pb.dose or pb.volume}, lockout {pb.lockout}, max {pb.max_per_day}/d")  # fmt: skip
        r = ctx.services.resolve(plan)
        d = daily_dose(r.schedule, r.admixture, r.program.patient_bolus)
        out["volume per day (nominal)"] = fmt(d.nominal_volume)
        for drug, q in d.nominal.items():
            out[f"{drug} daily dose (nominal)"] = fmt(q)
        for drug, q in d.worst_case.items():
            out[f"{drug} daily dose (worst case)"] = fmt(q)
        return out

    c, n = describe(current), describe(proposed)
    return [(k, c.get(k, "—"), n.get(k, "—")) for k in dict.fromkeys([*c, *n])]


def _proposed(current: PlanFile, form: dict[str, str]) -> PlanFile:
    """The proposed plan: a whole plan pasted as TOML, else the current one with the
    schedule's dose or rate and the alarm threshold edited."""
    text = form.get("plan_toml", "").strip()
    if text:
        try:
            return parse_plan(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise InputError("plan_toml", f"is not TOML: {exc}", "a plan file") from None
    data = current.model_dump(mode="json", exclude_none=True)
    for key in ("dose", "rate"):
        value = form.get(key, "").strip()
        if value and data["schedule"].get(key) is not None:
            data["schedule"][key] = value
    alarm = form.get("low_reservoir_alarm", "").strip()
    if alarm:
        data["pump"]["low_reservoir_alarm"] = alarm
    return parse_plan(data)


def _program_values(plan: PlanFile | None) -> dict[str, str]:
    s = plan.schedule if plan else None
    return {"dose": (s.dose or "") if s else "", "rate": (s.rate or "") if s else "",
            "low_reservoir_alarm": (plan.pump.low_reservoir_alarm or "") if plan else "",
            "plan_toml": "", "reason": ""}  # fmt: skip


router = APIRouter()


@router.get("/patients/{patient_id}/program", response_class=HTMLResponse)
def program_form(patient_id: str, request: Request, user: User = Depends(page_user),
                 ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    try:
        record = ctx.services.patient_record(patient_id=patient_id)
    except InputError:
        raise HTTPException(404, "no such patient") from None
    p, rx = record.patient, record.prescription
    plan = rx.plan() if rx else None
    rows = program_rows(ctx, plan, plan) if plan else []
    return render(request, ctx, "program.html", user=user, p=p, rx=rx, plan=plan,
                  rows=rows, error=None, findings=None, form=_program_values(plan),
                  reasons={}, Level=Level)  # fmt: skip


@router.post("/patients/{patient_id}/program", response_class=HTMLResponse)
async def program_post(patient_id: str, request: Request, user: User = Depends(page_user),
                       ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    form = await write_form(request, ctx, user, "change programs")
    try:
        record = ctx.services.patient_record(patient_id=patient_id)
    except InputError:
        raise HTTPException(404, "no such patient") from None
    p, rx = record.patient, record.prescription
    current = rx.plan() if rx else None
    values = {k: form.get(k, "") for k in _program_values(None)}
    reasons = {k[len("reason:"):]: v.strip() for k, v in form.items()
               if k.startswith("reason:") and v.strip()}  # fmt: skip
    page: dict[str, Any] = {"user": user, "p": p, "rx": rx, "plan": current, "form": values,
            "reasons": reasons, "Level": Level}  # fmt: skip
    if current is None:
        return render(request, ctx, "program.html", 422, rows=[], findings=None,
                      error="the patient has no prescription to change", **page)  # fmt: skip
    try:
        proposed = _proposed(current, values)
        # The clinic decides who may change what.
        preview = ctx.services.preview_program_change(actor=user, patient_id=patient_id,
                                                      plan=proposed)  # fmt: skip
        stored, findings = preview.plan, preview.findings
        rows = program_rows(ctx, current, stored)
        if form.get("step") != "confirm":
            return render(request, ctx, "program.html", rows=rows, findings=findings,
                          error=None, **page)  # fmt: skip
        ctx.services.change_program(actor=user, patient_id=patient_id, plan=proposed,
                                    reason=values["reason"], overrides=reasons,
                                    patient_version=form_version(form))  # fmt: skip
    except (PermissionDenied, OverrideNotAllowed) as exc:
        return render(request, ctx, "program.html", 403, rows=[], findings=None,
                      error=refusal(exc), **page)  # fmt: skip
    except (InputError, OverrideError) as exc:
        return render(request, ctx, "program.html", write_status(exc), rows=[],
                      findings=None, error=str(exc), **page)  # fmt: skip
    return RedirectResponse(saved_url(f"/patients/{patient_id}", "program"), 303)
