"""The refill wizard: the vendor programmers' refill session in one page sequence.

interrogate -> withdraw (expected residual, discrepancy) -> drug and concentration (lot) ->
fill -> review (every number, the findings, a reason per soft one) -> confirm: the refill goes
to the pump over its link, is read back, and only then is recorded
(:mod:`thecal.clinic.refill_delivery`) -> the printable session record.

Each step validates its own fields and carries the earlier ones as hidden fields: nothing is
recorded before the final confirm (the interrogation is read, not stored). The drug step
accepts new concentrations of the prescribed drugs: the wizard computes the program that keeps
the same daily dose and the bridge bolus (:mod:`thecal.clinic.refill_concentration`), judges
the program against the reservoir after the refill, and the confirm sends the refill, the new
program and the bridge bolus in that order, recording only what the pump confirmed
(:mod:`thecal.clinic.refill_program_delivery`); without a link the refill and the program are
recorded and the page says the pump was NOT programmed. A new drug is a new prescription
(program form)."""

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from thecal.api.context import AppContext, context
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.model import Device, User
from thecal.clinic.program_delivery import PumpWrite
from thecal.clinic.refill_concentration import (
    CATHETER,
    INTERNAL,
    ConcentrationChange,
    concentration_change,
    entered_concentrations,
    optional_volume,
)
from thecal.clinic.refill_program import preview_refill_program, record_refill_program
from thecal.clinic.refill_program_delivery import (
    NOT_PROGRAMMED,
    OLD_PROGRAM,
    bridge_plan,
    change_through_implant,
)
from thecal.clinic.refill_session import session_change
from thecal.clinic.refill_workflow import RefillInput
from thecal.programmer.clinician import InterrogationReport, ProgrammerError
from thecal.programmer.link_client import AckLost, LinkRefused
from thecal.therapy.findings import Level, OverrideError, OverrideNotAllowed
from thecal.therapy.plan_file import PlanFile
from thecal.units import Dimension, InputError, fmt, parse_quantity
from thecal.web.implants import (
    ImplantLink,
    interrogate,
    pump_refill_findings,
    reachable,
    write_bridge,
    write_program,
    write_refill,
)
from thecal.web.pages_common import (
    form_version,
    page_user,
    refusal,
    render,
    write_form,
    write_status,
)

STEPS = ("interrogate", "withdraw", "drug", "fill", "review")
CARRIED = ("withdrawn", "drug_lot", "filled", "device_estimate", "catheter_volume",
           "internal_volume")  # fmt: skip
CHANGE_FIELDS = ("concentration", "catheter_volume", "internal_volume")


def _entry(form: Mapping[str, str], upto: str) -> RefillInput:
    """The refill entered so far, each field checked up to step ``upto`` (withdraw: the
    withdrawn volume; drug: and the lot; fill: and the filled volume)."""
    withdrawn = parse_quantity(form.get("withdrawn", ""), "refill.withdrawn", Dimension.VOLUME)
    lot = form.get("drug_lot", "").strip()
    if upto in ("drug", "fill", "review") and not lot:
        raise InputError("refill.drug_lot", "is required", "the lot number on the vial")
    filled = withdrawn  # not asked yet: the residual check does not depend on it
    if upto in ("fill", "review"):
        filled = parse_quantity(form.get("filled", ""), "refill.filled", Dimension.VOLUME)
    reasons = {k[len("reason:"):]: v.strip() for k, v in form.items()
               if k.startswith("reason:") and v.strip()}  # fmt: skip
    return RefillInput(withdrawn, filled, lot, overrides=reasons)


def refill_wizard_router(links: Mapping[str, ImplantLink]) -> APIRouter:
    """The wizard's pages; ``links`` maps an implant serial to its telemetry link."""
    router = APIRouter()
    base = "/patients/{patient_id}/refill-wizard"

    def context_of(ctx: AppContext, patient_id: str) -> dict[str, Any]:
        try:
            record = ctx.services.patient_record(patient_id=patient_id)
            pump = ctx.services.pump_in_place(patient_id=patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        link = reachable(links, pump.serial) if pump is not None else None
        return {"p": record.patient, "rx": record.prescription, "pump": pump, "link": link,
                "Level": Level, "error": None, "report": None, "outcome": None,
                "pumped": None, "form": dict.fromkeys(CARRIED, ""), "reasons": {},
                "pump_findings": (), "change": None, "program_findings": (),
                "bridge": ""}  # fmt: skip

    @router.get(base, response_class=HTMLResponse)
    def wizard_start(patient_id: str, request: Request, user: User = Depends(page_user),
                     ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        page = context_of(ctx, patient_id)
        step = "interrogate" if page["link"] is not None else "withdraw"
        return render(request, ctx, "refill_wizard.html", user=user, step=step, **page)

    @router.post(base, response_class=HTMLResponse)
    async def wizard_post(patient_id: str, request: Request, user: User = Depends(page_user),
                          ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        form = await write_form(request, ctx, user, "record refills")
        page = context_of(ctx, patient_id)
        page["form"] = {k: form.get(k, "") for k in CARRIED}
        page["form"].update({k: v for k, v in form.items() if k.startswith("conc:")})
        page["reasons"] = {k[len("reason:"):]: v for k, v in form.items()
                           if k.startswith("reason:")}  # fmt: skip
        svc, done = ctx.services, form.get("step", "")
        if not user.can_write:
            return render(request, ctx, "refill_wizard.html", 403, user=user, step="withdraw",
                          **{**page, "error": f"{user.username} ({user.role.value}) may not "
                             "record refills"})  # fmt: skip
        if done == "interrogate":
            return _interrogated(request, ctx, user, page)
        order = {"withdraw": "drug", "drug": "fill", "fill": "review"}
        try:
            if done in order:
                entry = _entry(form, done)
                page["outcome"] = svc.review_refill(actor=user, patient_id=patient_id,
                                                    entry=entry)  # fmt: skip
                if done != "withdraw":
                    _changed(ctx, user, page, form, review=order[done] == "review", entry=entry)
                if order[done] == "review":
                    page["pump_findings"] = _pump_findings(ctx, page, entry)
                return render(request, ctx, "refill_wizard.html", user=user, step=order[done],
                              **page)  # fmt: skip
            if done != "confirm":
                raise InputError("step", f"{done!r} is not a step", ", ".join(STEPS))
            entry = _entry(form, "review")
            change = _changed(ctx, user, page, form, review=False)
            if change is not None:
                return _confirm_change(ctx, user, page, form, entry, change, request)
            if page["link"] is None:
                outcome = svc.record_refill(actor=user, patient_id=patient_id, entry=entry,
                                            patient_version=form_version(form))  # fmt: skip
                return RedirectResponse(
                    f"/patients/{patient_id}/refill-wizard/session/{outcome.record.id}"
                    "?saved=record", 303)  # fmt: skip
            link: ImplantLink = page["link"]
            opioid_naive = page["p"].opioid_naive

            def write(device: Device, sent: RefillInput) -> PumpWrite:
                return write_refill(link, svc.library, svc.catalog, device, sent, opioid_naive)

            delivered = svc.implant_links.refill(actor=user, patient_id=patient_id,
                                                 entry=entry, write=write,
                                                 patient_version=form_version(form))  # fmt: skip
        except (PermissionDenied, OverrideNotAllowed) as exc:
            return render(request, ctx, "refill_wizard.html", 403, user=user, step="withdraw",
                          **{**page, "error": refusal(exc)})  # fmt: skip
        except (InputError, OverrideError) as exc:
            step = _step_of(exc, done)
            if step == "review":  # a missing reason: the review again, with the error
                try:
                    again = _entry(form, "review")
                    page["outcome"] = svc.review_refill(actor=user, patient_id=patient_id,
                                                        entry=again)  # fmt: skip
                    page["pump_findings"] = _pump_findings(ctx, page, again)
                    _changed(ctx, user, page, form, review=True, entry=again)
                except (InputError, OverrideError):
                    step = "withdraw"
            return render(request, ctx, "refill_wizard.html", write_status(exc), user=user,
                          step=step, **{**page, "error": str(exc)})  # fmt: skip
        if delivered.refill is not None:
            return RedirectResponse(
                f"/patients/{patient_id}/refill-wizard/session/{delivered.refill.record.id}"
                "?saved=pump", 303)  # fmt: skip
        page["pumped"] = delivered.write
        status = 409 if delivered.write.outcome is DeliveryOutcome.REFUSED else 200
        return render(request, ctx, "refill_wizard.html", status, user=user, step="result",
                      **page)  # fmt: skip

    @router.get(base + "/session/{refill_id}", response_class=HTMLResponse)
    def session_record(patient_id: str, refill_id: str, request: Request, saved: str = "",
                       user: User = Depends(page_user),
                       ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """The printable record of one refill session: every number with its unit, the
        findings and their reasons, and what the pump confirmed."""
        try:
            record = ctx.services.patient_record(patient_id=patient_id)
            deliveries = ctx.services.implant_links.deliveries(patient_id=patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        refill = next((r for r in record.refills if r.id == refill_id), None)
        if refill is None:
            raise HTTPException(404, "no such refill for this patient")
        delivery = next((d for d in deliveries if d.what == "refill"
                         and d.at == refill.performed_at), None)  # fmt: skip
        sent = delivery.payload if delivery is not None else ()
        recorded = {code for code, _ in refill.overrides}
        given = {k.removeprefix("reason:"): v for k, v in sent if k.startswith("reason:")}
        pump_reasons = {k: v for k, v in given.items() if k not in recorded}
        device = next((d for d in record.devices if d.id == refill.device_id), None)
        changed = session_change(ctx.services.uow, patient_id=patient_id, refill=refill)
        return render(request, ctx, "session_record.html", user=user, p=record.patient,
                      refill=refill, delivery=delivery, saved=saved, device=device,
                      pump_reasons=pump_reasons, changed=changed, OLD_PROGRAM=OLD_PROGRAM,
                      NOT_PROGRAMMED=NOT_PROGRAMMED)  # fmt: skip

    return router


def _changed(ctx: AppContext, user: User, page: dict[str, Any], form: Mapping[str, str],
             review: bool, entry: RefillInput | None = None,
             ) -> ConcentrationChange | None:  # fmt: skip
    """The concentration change typed at the drug step (None: the prescribed admixture), put
    on ``page`` as ``change`` with what is done with its bridge; with ``review`` the refill
    with the new program (``outcome``) and the program's findings on the reservoir AFTER the
    refill (``program_findings``)."""
    rx = page["rx"]
    if rx is None:
        return None
    plan = rx.plan()
    change = concentration_change(
        plan, entered_concentrations(form, plan), ctx.library, ctx.catalog,
        catheter_volume=optional_volume(form, "catheter_volume", CATHETER),
        internal_volume=optional_volume(form, "internal_volume", INTERNAL),
    )  # fmt: skip
    page["change"] = change
    if change is None:
        return None
    page["bridge"] = bridge_plan(change, linked=page["link"] is not None)
    if review and entry is not None:
        svc = ctx.services
        with svc.uow.reader() as repo:
            preview = preview_refill_program(repo, svc.library, svc.catalog,
                                             patient_id=page["p"].id, entry=entry, change=change,
                                             at=svc.clock(), actor=user)  # fmt: skip
        page["outcome"] = preview.refill
        page["program_findings"] = preview.program.findings
    return change


def _confirm_change(ctx: AppContext, user: User, page: dict[str, Any], form: Mapping[str, str],
                    entry: RefillInput, change: ConcentrationChange,
                    request: Request) -> Response:  # fmt: skip
    """The confirm of a refill with a new concentration: over the link refill -> program ->
    bridge (only what the pump confirmed is recorded); without a link the refill and the
    program are recorded and the session record says the pump was NOT programmed."""
    svc, pid = ctx.services, page["p"].id
    session = f"/patients/{pid}/refill-wizard/session/"
    link: ImplantLink | None = page["link"]
    if link is None:
        out, _ = record_refill_program(svc.uow, svc.clock, svc.library, svc.catalog, actor=user,
                                       patient_id=pid, entry=entry, change=change,
                                       bridge=bridge_plan(change, linked=False),
                                       patient_version=form_version(form))  # fmt: skip
        return RedirectResponse(f"{session}{out.refill.record.id}?saved=record-change", 303)
    naive = page["p"].opioid_naive

    def refill(device: Device, sent: RefillInput) -> PumpWrite:
        return write_refill(link, svc.library, svc.catalog, device, sent, naive)

    def program(device: Device, plan: PlanFile, reasons: Mapping[str, str]) -> PumpWrite:
        return write_program(link, svc.library, svc.catalog, device, plan, reasons, naive)

    def bridge(device: Device, volume: Any, duration: Any, reasons: Mapping[str, str]) -> PumpWrite:
        return write_bridge(link, svc.library, svc.catalog, device, volume, duration, reasons,
                            naive)  # fmt: skip

    done = change_through_implant(svc.uow, svc.clock, svc.library, svc.catalog, actor=user,
                                  patient_id=pid, entry=entry, change=change,
                                  write_refill=refill, write_program=program,
                                  write_bridge=bridge,
                                  patient_version=form_version(form))  # fmt: skip
    if done.refill is None:
        page["pumped"] = done.refill_write
        status = 409 if done.refill_write.outcome is DeliveryOutcome.REFUSED else 200
        return render(request, ctx, "refill_wizard.html", status, user=user, step="result",
                      **page)  # fmt: skip
    saved = "old-program" if done.old_program_running else "pump-change"
    return RedirectResponse(f"{session}{done.refill.record.id}?saved={saved}", 303)


def _pump_findings(ctx: AppContext, page: dict[str, Any], entry: RefillInput) -> Any:
    """The pump's own refill findings the clinic's review does not already list (by code)."""
    link: ImplantLink | None = page["link"]
    if link is None or page["pump"] is None:
        return ()
    found = pump_refill_findings(link, ctx.library, ctx.catalog, page["pump"], entry,
                                 page["p"].opioid_naive)  # fmt: skip
    listed = {f.code for f in page["outcome"].findings}
    return tuple(f for f in found if f.code not in listed)


def _step_of(exc: Exception, done: str) -> str:
    """The step whose field is wrong (shown again with the error), else the step sent."""
    field = getattr(exc, "field", "")
    named = (("withdrawn", "withdraw"), ("drug_lot", "drug"), ("filled", "fill"),
             *((f"refill.{n}", "drug") for n in CHANGE_FIELDS))  # fmt: skip
    for name, step in named:
        if field.endswith(name) or field.startswith(name):
            return step
    return {"confirm": "review", "interrogate": "interrogate"}.get(done, done or "withdraw")


def _interrogated(request: Request, ctx: AppContext, user: User,
                  page: dict[str, Any]) -> Response:  # fmt: skip
    """Read the pump over its link (not stored: nothing is recorded before the final confirm)
    and show the withdraw step with what it said."""
    link: ImplantLink | None = page["link"]
    if link is None:
        return render(request, ctx, "refill_wizard.html", user=user, step="withdraw",
                      **{**page, "error": "this pump has no registered link: read its "
                         "reservoir on the programmer"})  # fmt: skip
    try:
        report: InterrogationReport = interrogate(link, ctx.library, ctx.catalog)
    except (InputError, ProgrammerError, AckLost, LinkRefused, OSError) as exc:
        return render(request, ctx, "refill_wizard.html", 502, user=user, step="interrogate",
                      **{**page, "error": f"interrogation failed: {exc}"})  # fmt: skip
    if report.status.serial != page["pump"].serial:
        return render(request, ctx, "refill_wizard.html", 502, user=user, step="interrogate",
                      **{**page, "error": f"implant {report.status.serial} answered, not "
                         f"{page['pump'].serial}"})  # fmt: skip
    page["report"] = report
    page["form"]["device_estimate"] = fmt(report.status.reservoir_estimate.to("mL"))
    return render(request, ctx, "refill_wizard.html", user=user, step="withdraw", **page)


__all__ = ["STEPS", "refill_wizard_router"]
