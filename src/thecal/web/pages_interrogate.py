"""Interrogating the patient's implant from its page: over the telemetry link, the snapshot
stored."""

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from thecal.api.context import AppContext, context
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import Device, User
from thecal.clinic.services import ImplantReading
from thecal.programmer.clinician import InterrogationReport, ProgrammerError
from thecal.programmer.link_client import AckLost, LinkRefused
from thecal.units import InputError
from thecal.web.implants import ImplantLink, interrogate, reachable, snapshot
from thecal.web.pages_common import check_write, page_user, render


def interrogate_router(links: Mapping[str, ImplantLink]) -> APIRouter:
    """The interrogate action; ``links`` maps an implant serial to its telemetry link."""
    router = APIRouter()

    @router.post("/patients/{patient_id}/interrogate", response_class=HTMLResponse)
    def interrogate_post(patient_id: str, request: Request, csrf: str = Form(""),
                         user: User = Depends(page_user),
                         ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """Interrogate the patient's implant over the link and store the snapshot."""
        check_write(request, ctx, user, csrf, "interrogate")
        svc = ctx.services
        try:
            p = svc.patient(patient_id=patient_id)
            pump = svc.pump_in_place(patient_id=patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        link = reachable(links, pump.serial) if pump is not None else None
        if pump is None or link is None:
            raise HTTPException(404, "this patient's implant is not reachable")
        page: dict[str, Any] = {"user": user, "p": p, "pump": pump}

        def read(_: Device) -> ImplantReading[InterrogationReport]:
            assert link is not None  # checked above
            report = interrogate(link, svc.library, svc.catalog)
            status, log = snapshot(report)
            return ImplantReading(report, report.status.serial, status, log)

        try:
            # The services refuse a viewer before the implant is contacted.
            reading, stored = svc.interrogate(actor=user, patient_id=patient_id, read=read)
        except PermissionDenied as exc:
            raise HTTPException(403, exc.message) from None
        except (InputError, ProgrammerError, AckLost, LinkRefused, OSError) as exc:
            return render(request, ctx, "interrogation.html", 502, report=None,
                          stored=None, error=f"interrogation failed: {exc}", **page)  # fmt: skip
        return render(request, ctx, "interrogation.html", report=reading.report, stored=stored,
                      error=None, **page)  # fmt: skip

    return router
