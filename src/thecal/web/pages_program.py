"""The program change form: current vs proposed program side by side, the findings to
override with a reason, and the confirmed change. A patient with a pump in place and no
prescription gets the first prescription form instead (:mod:`thecal.web.first_prescription`),
through the same preview, findings, reasons, confirmation, safety gate and implant link.

When the patient's pump has a registered link, the confirmed change is written to the pump
first (stage -> read back -> verify -> commit) and recorded only when the pump confirmed it
(:mod:`thecal.clinic.program_delivery`); a refusal changes nothing, a lost acknowledgement is
shown as uncertain ("interrogate before anything else") and recorded as such. Without a link,
the record changes and the page says the pump was not programmed."""

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from thecal.adapters.plan_files import parse_plan
from thecal.api.context import AppContext, context
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.model import Device, User
from thecal.clinic.program_delivery import PumpWrite
from thecal.clinic.services import PatientRecord
from thecal.therapy.delivery import daily_dose
from thecal.therapy.findings import Level, OverrideError, OverrideNotAllowed
from thecal.therapy.plan_file import PlanFile
from thecal.units import InputError, fmt
from thecal.web.first_prescription import CatheterFacts, blank_values, catheter_facts, first_plan
from thecal.web.implants import ImplantLink, reachable, write_program
from thecal.web.pages_common import (
    form_version,
    page_user,
    refusal,
    render,
    write_form,
    write_status,
)
from thecal.web.program_editor import (
    WEEKDAYS,
    apply_patient_bolus,
    apply_schedule,
    editor_values,
    step_rows,
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
        if current is None:  # a first prescription: what it starts with
            if plan.fill is not None:
                out["initial fill"] = f"{plan.fill.volume} at {plan.fill.at:%Y-%m-%d %H:%M}"
            try:
                volume = r.catheter_volume()
            except InputError:  # a length whose volume per cm is not public
                volume = None
            out["catheter volume"] = fmt(volume) if volume is not None else "not known"
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
    if form.get("mode"):  # the editors (a form without them edits the dose or rate only)
        apply_schedule(data, form)
        apply_patient_bolus(data, form)
    return parse_plan(data)


@dataclass(frozen=True)
class FirstPage:
    """What the first prescription form shows beside its fields: the drug library's names,
    one admixture row per drug it allows, the catheter as recorded and the patient's opioid
    status from the registration (None: not recorded)."""

    drugs: tuple[str, ...]
    slots: range
    catheter: CatheterFacts
    opioid_naive: bool | None


def _first(ctx: AppContext, record: PatientRecord, pump: Device) -> FirstPage:
    lib = ctx.library
    return FirstPage(tuple(d.name for d in lib.drugs), range(lib.settings.max_admixture_drugs),
                     catheter_facts(record.devices, ctx.catalog),
                     record.patient.opioid_naive)  # fmt: skip


def _program_values(plan: PlanFile | None) -> dict[str, str]:
    s = plan.schedule if plan else None
    return {"dose": (s.dose or "") if s else "", "rate": (s.rate or "") if s else "",
            "low_reservoir_alarm": (plan.pump.low_reservoir_alarm or "") if plan else "",
            "plan_toml": "", "reason": "", **editor_values(plan)}  # fmt: skip


EDITOR_PREFIXES = ("mode", "step_", "pb_")

SAVED = {
    "pump": "The program was written to the pump, read back, verified and committed; the "
            "record has the new prescription version.",
    "record": "The record changed, but the pump was NOT programmed: this implant has no "
              "registered link. Program it with the clinician programmer, then interrogate.",
}  # fmt: skip


def program_router(links: Mapping[str, ImplantLink]) -> APIRouter:
    """The program change pages; ``links`` maps an implant serial to its telemetry link."""
    router = APIRouter()

    def link_of(pump: Device | None) -> ImplantLink | None:
        return reachable(links, pump.serial) if pump is not None else None

    @router.get("/patients/{patient_id}/program", response_class=HTMLResponse)
    def program_form(patient_id: str, request: Request, saved: str = "",
                     user: User = Depends(page_user),
                     ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        try:
            record = ctx.services.patient_record(patient_id=patient_id)
            pump = ctx.services.pump_in_place(patient_id=patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        p, rx = record.patient, record.prescription
        plan = rx.plan() if rx else None
        rows = program_rows(ctx, plan, plan) if plan else []
        first = _first(ctx, record, pump) if plan is None and pump is not None else None
        form = blank_values(ctx.library, ctx.services.clock()) if first else _program_values(plan)
        return render(request, ctx, "program.html", user=user, p=p, rx=rx, plan=plan,
                      rows=rows, error=None, findings=None, form=form, first=first,
                      reasons={}, Level=Level, pump=pump, link=link_of(pump),
                      saved=SAVED.get(saved), pumped=None,
                      steps=step_rows(form), weekdays=WEEKDAYS)  # fmt: skip

    @router.post("/patients/{patient_id}/program", response_class=HTMLResponse)
    async def program_post(patient_id: str, request: Request, user: User = Depends(page_user),
                           ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        form = await write_form(request, ctx, user, "change programs")
        svc = ctx.services
        try:
            record = svc.patient_record(patient_id=patient_id)
            pump = svc.pump_in_place(patient_id=patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        p, rx = record.patient, record.prescription
        current = rx.plan() if rx else None
        link = link_of(pump)
        first = _first(ctx, record, pump) if current is None and pump is not None else None
        fields = blank_values(svc.library, svc.clock()) if first else _program_values(None)
        values = {k: form.get(k, "") for k in fields}
        values.update({k: v for k, v in form.items() if k.startswith(EDITOR_PREFIXES)})
        reasons = {k[len("reason:"):]: v.strip() for k, v in form.items()
                   if k.startswith("reason:") and v.strip()}  # fmt: skip
        page: dict[str, Any] = {"user": user, "p": p, "rx": rx, "plan": current, "form": values,
                "reasons": reasons, "Level": Level, "pump": pump, "link": link,
                "saved": None, "pumped": None, "steps": step_rows(values),
                "weekdays": WEEKDAYS, "first": first}  # fmt: skip
        if current is None and (pump is None or first is None):
            return render(request, ctx, "program.html", 422, rows=[], findings=None,
                          error="no pump is in place: record the implant first",
                          **page)  # fmt: skip
        try:
            if current is None:
                assert pump is not None and first is not None  # checked above
                proposed = first_plan(values, svc.library, pump, first.catheter, svc.clock())
            else:
                proposed = _proposed(current, values)
            # The clinic decides who may change what.
            preview = svc.preview_program_change(actor=user, patient_id=patient_id,
                                                 plan=proposed)  # fmt: skip
            stored, findings = preview.plan, preview.findings
            rows = program_rows(ctx, current, stored)
            if form.get("step") != "confirm":
                return render(request, ctx, "program.html", rows=rows, findings=findings,
                              error=None, **page)  # fmt: skip
            if link is None:
                svc.change_program(actor=user, patient_id=patient_id, plan=proposed,
                                   reason=values["reason"], overrides=reasons,
                                   patient_version=form_version(form))  # fmt: skip
                return RedirectResponse(f"/patients/{patient_id}/program?saved=record", 303)

            def write(device: Device, plan: PlanFile, given: Mapping[str, str]) -> PumpWrite:
                assert link is not None  # checked above
                return write_program(link, svc.library, svc.catalog, device, plan, given,
                                     p.opioid_naive)  # fmt: skip

            delivered = svc.implant_links.program(
                actor=user, patient_id=patient_id, plan=proposed, reason=values["reason"],
                write=write, overrides=reasons, patient_version=form_version(form))  # fmt: skip
        except (PermissionDenied, OverrideNotAllowed) as exc:
            return render(request, ctx, "program.html", 403, rows=[], findings=None,
                          error=refusal(exc), **page)  # fmt: skip
        except (InputError, OverrideError) as exc:
            return render(request, ctx, "program.html", write_status(exc), rows=[],
                          findings=None, error=str(exc), **page)  # fmt: skip
        if delivered.write.outcome is DeliveryOutcome.CONFIRMED:
            return RedirectResponse(f"/patients/{patient_id}/program?saved=pump", 303)
        # Refused or uncertain: said plainly, the record unchanged (the delivery is stored).
        page["pumped"] = delivered.write
        status = 409 if delivered.write.outcome is DeliveryOutcome.REFUSED else 200
        return render(request, ctx, "program.html", status, rows=rows, findings=None,
                      error=None, **page)  # fmt: skip

    return router
