"""The patient pages that only read: the patient's record and timeline, one stored
interrogation, and the reservoir and refill-history charts (SVG)."""

import json
from collections.abc import Mapping
from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from thecal.api.context import AppContext, context
from thecal.clinic.interrogation import read_snapshot
from thecal.clinic.model import User
from thecal.clinic.program_history import programs_since_fill
from thecal.clinic.workflows import current_prescription, pump_in_place
from thecal.therapy.findings import Level
from thecal.therapy.plan import resolve
from thecal.therapy.reservoir import Fill
from thecal.units import InputError
from thecal.web import charts
from thecal.web.implants import ImplantLink, reachable
from thecal.web.pages_common import human, page_user, render


def _svg(text: str) -> Response:
    return Response(text, media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store"})  # fmt: skip


def _program_change(old: int | None, new: int, by: str) -> str:
    """A timeline line for a program change; the first prescription has no old version (it
    read "vNone" before)."""
    if old is None:
        return f"first prescription (version {new}) by {by}"
    return f"program change from version {old} to version {new} by {by}"


def patients_router(links: Mapping[str, ImplantLink]) -> APIRouter:
    """The patient pages; ``links`` tells whether the patient's implant can be interrogated."""
    router = APIRouter()

    @router.get("/patients/{patient_id}", response_class=HTMLResponse)
    def patient_page(patient_id: str, request: Request, user: User = Depends(page_user),
                     ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        try:
            with ctx.uow.reader() as repo:
                p = repo.get_patient(patient_id)
                devices = repo.devices_for(patient_id)
                rx = current_prescription(repo, patient_id)
                refills = repo.refills_for(patient_id)
                timeline: list[tuple[datetime, str, str, str]] = []  # (at, what, note, PDF report)
                for pr in repo.procedures_for(patient_id):
                    timeline.append((datetime.combine(pr.performed_on, datetime.min.time()),
                                     f"procedure: {pr.kind.value}", pr.notes, ""))  # fmt: skip
                for ch in repo.program_changes_for(patient_id):
                    # The programming session report (PDF) of each change.
                    timeline.append((ch.at, _program_change(ch.old_version, ch.new_version,
                                                            ch.by), ch.reason,
                                     f"/api/v1/reports/session/{patient_id}/{ch.id}"))  # fmt: skip
                for a in repo.alarms_for(patient_id):
                    timeline.append((a.raised_at, f"alarm {human(a.code)} ({a.level})", a.message,
                                     ""))  # fmt: skip
                for c in repo.complications_for(patient_id):
                    timeline.append((datetime.combine(c.occurred_on, datetime.min.time()),
                                     f"complication: {c.code.value}", c.notes, ""))  # fmt: skip
                # Newest first, like the refill history.
                stored = reversed(repo.interrogations_for(patient_id))
                snapshots = [read_snapshot(i) for i in stored]
                for v in snapshots:
                    timeline.append((v.interrogation.at, f"interrogation of "
                                     f"{v.serial or 'the pump'} by {v.interrogation.by}",
                                     v.summary, f"/api/v1/reports/session/{patient_id}/"
                                     f"{v.interrogation.id}"))  # fmt: skip
                pump = pump_in_place(repo, patient_id)
            stimulators = ctx.services.stimulator_summary(patient_id=patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        timeline.sort(key=lambda t: t[0], reverse=True)
        link = reachable(links, pump.serial) if pump is not None else None
        return render(request, ctx, "patient.html", user=user, p=p, devices=devices,
                      plan=rx.plan() if rx else None, rx=rx, refills=list(reversed(refills)),
                      timeline=timeline, Level=Level, reachable=link is not None,
                      pump=pump, interrogations=snapshots,
                      stimulators=stimulators, stim_serials=frozenset(links),
                      today=ctx.clock().date())  # fmt: skip

    @router.get("/patients/{patient_id}/interrogations/{interrogation_id}",
             response_class=HTMLResponse)  # fmt: skip
    def interrogation_page(patient_id: str, interrogation_id: str, request: Request,
                           user: User = Depends(page_user),
                           ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """One stored interrogation: the status snapshot, its alarms and the log events read."""
        svc = ctx.services
        try:
            p = svc.patient(patient_id=patient_id)
            # Another patient's record is not under this URL: 404 too.
            record = svc.interrogation(patient_id=patient_id, interrogation_id=interrogation_id)
        except InputError:
            raise HTTPException(404, "no such patient or interrogation") from None
        raw = json.dumps({"status": record.status, "log": list(record.log)}, indent=2,
                         sort_keys=True, ensure_ascii=False, default=str)  # fmt: skip
        return render(request, ctx, "interrogation_record.html", user=user, p=p,
                      v=read_snapshot(record), raw=raw)  # fmt: skip

    @router.get("/patients/{patient_id}/charts/reservoir.svg")
    def reservoir_chart(patient_id: str, _: User = Depends(page_user),
                        ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """The reservoir projection from the last fill under the prescriptions since then."""
        try:
            with ctx.uow.reader() as repo:
                repo.get_patient(patient_id)
                versions = list(repo.prescriptions_for(patient_id))
                refills = list(repo.refills_for(patient_id))
            if not versions:
                raise HTTPException(404, "no prescription")
            resolved = resolve(versions[-1].plan().to_typed(), ctx.library, ctx.catalog)
            # The last fill: the last recorded refill, else the prescription's [fill].
            last = refills[-1] if refills else None
            fill = Fill(last.filled.to("mL"), last.performed_at) if last else resolved.fill
            if fill is None:
                raise HTTPException(404, "no fill recorded")
            # A titration since the fill changes the slope from then on.
            since = programs_since_fill(
                versions, fill.at, max(fill.at, ctx.clock()), ctx.library, ctx.catalog
            )  # fmt: skip
            projection = charts.reservoir_projection(resolved, fill, ctx.library, since=since)
            if ctx.clock() > projection.times[-1]:  # overdue: draw the reservoir up to today
                projection = charts.reservoir_projection(
                    resolved, fill, ctx.library, end=ctx.clock(), since=since
                )  # fmt: skip
        except InputError as exc:
            raise HTTPException(404, str(exc)) from None
        return _svg(charts.reservoir_svg(projection, ctx.clock()))

    @router.get("/patients/{patient_id}/charts/refills.svg")
    def refills_chart(patient_id: str, _: User = Depends(page_user),
                      ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """Expected vs withdrawn per refill, with discrepancy findings marked."""
        try:  # an unknown patient is 404, not an empty chart
            refills = list(ctx.services.patient_record(patient_id=patient_id).refills)
        except InputError as exc:
            raise HTTPException(404, str(exc)) from None
        return _svg(charts.refill_history_svg(refills))

    return router
