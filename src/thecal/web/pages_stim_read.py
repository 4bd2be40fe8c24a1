"""Stimulator measurements from the patient page: read impedances and the battery over the
telemetry link, or type them in by hand (from a vendor programmer's printout)."""

from collections.abc import Mapping
from datetime import datetime

import pint
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from thecal.api.context import AppContext, context
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import Device, User
from thecal.clinic.stimulator_model import ContactImpedance, MeasurementSource
from thecal.clinic.stimulator_reading import StimulatorReading
from thecal.clinic.stimulator_workflow import StimulatorSummary
from thecal.devices.stimulator import ReadingFlag
from thecal.programmer.clinician import ProgrammerError
from thecal.programmer.link_client import AckLost, LinkRefused
from thecal.programmer.stimulator import StimInterrogation
from thecal.units import Q_, Dimension, InputError, parse_quantity
from thecal.web.implants import ImplantLink, reachable, read_stimulator
from thecal.web.pages_common import (
    error_page,
    page_user,
    refusal,
    render,
    saved_url,
    write_form,
    write_status,
)


def _back(patient_id: str, device_id: str, saved: str) -> RedirectResponse:
    return RedirectResponse(saved_url(f"/patients/{patient_id}", saved, f"stimulator-{device_id}"),
                            303)  # fmt: skip


def _refused(request: Request, exc: Exception) -> HTMLResponse:
    if isinstance(exc, PermissionDenied):
        return error_page(request, 403, refusal(exc))
    if isinstance(exc, InputError) and exc.field.endswith(".id"):
        return error_page(request, 404, str(exc))  # no such patient or stimulator
    return error_page(request, write_status(exc), str(exc))


def _check_exists(ctx: AppContext, patient_id: str, device_id: str) -> StimulatorSummary:
    """404 before the form is read: an unknown patient or stimulator is not an input error.
    Returns the stimulator's summary (the heading of a form shown again)."""
    try:
        summaries = ctx.services.stimulator_summary(patient_id=patient_id)
    except InputError:
        raise HTTPException(404, "no such patient") from None
    for s in summaries:
        if s.device.id == device_id:
            return s
    raise HTTPException(404, "no such stimulator")


_FIELDS = {"impedances": ("impedances", "at"), "battery": ("voltage", "percent", "at")}


def _again(
    request: Request,
    ctx: AppContext,
    user: User,
    kind: str,
    patient_id: str,
    summary: StimulatorSummary,
    form: Mapping[str, str],
    exc: Exception,
) -> Response:
    """A refused manual entry: a clinic refusal as its error page; an input error (422) or a
    concurrent write (409) shows the form again, what was typed kept and the field named."""
    if isinstance(exc, PermissionDenied) or (
        isinstance(exc, InputError) and exc.field.endswith(".id")
    ):
        return _refused(request, exc)
    typed = {k: form.get(k, "") for k in _FIELDS[kind]}
    what = "impedances" if kind == "impedances" else "a battery reading"
    return render(request, ctx, "stim_manual_entry.html", write_status(exc), user=user,
                  kind=kind, what=what, s=summary, patient_id=patient_id, form=typed,
                  error=str(exc))  # fmt: skip


def parse_at(text: str, field: str) -> datetime | None:
    """A form's local time (``2025-01-06T09:30``); empty: now. Naive like the clinic's clock."""
    if not text.strip():
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(field, f"{text!r} is not a time", "2025-01-06T09:30") from None
    if at.tzinfo is not None:
        raise InputError(field, "give the clinic's local time without a zone", "2025-01-06T09:30")
    return at


PERCENT = Q_(1, "%").units

OPEN_WORDS = frozenset({"open", "open circuit"})
"""What a printout says for a contact above the measurable range (any case)."""


def parse_impedances(text: str) -> tuple[ContactImpedance, ...]:
    """One ``contact = value`` per line (``L1:0 = 850 ohm``, or ``L1:3 = open`` for an open
    circuit); a line without a value is skipped (the form lists the known contacts). Each
    value is named by its contact in errors."""
    out: list[ContactImpedance] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        contact, sep, value = line.partition("=")
        if not sep or not contact.strip():
            raise InputError(f"impedances line {n}", f"{line.strip()!r}", "L1:0 = 850 ohm")
        if value.strip().casefold() in OPEN_WORDS:
            out.append(ContactImpedance(contact.strip(), None, open_circuit=True))
        elif value.strip():
            q = parse_quantity(value.strip(), f"impedances.{contact.strip()}", Dimension.IMPEDANCE)
            out.append(ContactImpedance(contact.strip(), q))
    return tuple(out)


def _optional(text: str, field: str, dim: Dimension) -> pint.Quantity | None:
    return parse_quantity(text.strip(), field, dim) if text.strip() else None


def parse_percent(text: str, field: str) -> pint.Quantity | None:
    """A percentage typed with its unit (``80 %``); empty: None. A bare number is refused:
    "80" would be read as the fraction 80 (8000 %) and "0.8" silently as 80 %."""
    q = _optional(text, field, Dimension.DIMENSIONLESS)
    if q is not None and q.units != PERCENT:
        raise InputError(field, f"{text.strip()!r} has no unit: write the percentage with "
                         "its % sign", "80 %")  # fmt: skip
    return q


def stim_read_router(links: Mapping[str, ImplantLink]) -> APIRouter:
    """Reading and typing in measurements; ``links`` maps an implant serial to its link."""
    router = APIRouter()
    base = "/patients/{patient_id}/stimulators/{device_id}"

    @router.post(base + "/read", response_class=HTMLResponse)
    async def read_post(patient_id: str, device_id: str, request: Request,
                        user: User = Depends(page_user),
                        ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """Impedance test and interrogation over the link; both stored in one authorised call."""
        await write_form(request, ctx, user, "read stimulators")

        def read(device: Device) -> StimulatorReading[StimInterrogation]:
            link = reachable(links, device.serial)
            if link is None:
                raise InputError("stimulator.link", f"{device.serial} is not reachable")
            test, report = read_stimulator(link)
            assert test.report is not None  # read_stimulator refuses a refused test
            # Above the window is the IPG's open circuit: its number is the window's top.
            values = tuple(ContactImpedance(r.label, r.impedance,
                                            r.flag is ReadingFlag.ABOVE_WINDOW)
                           for r in test.report.readings if r.kind == "monopolar")  # fmt: skip
            return StimulatorReading(report, report.status.serial, values,
                                     report.status.battery_voltage)  # fmt: skip

        try:
            ctx.services.read_stimulator(actor=user, patient_id=patient_id,
                                         device_id=device_id, read=read)  # fmt: skip
        except PermissionDenied as exc:
            return _refused(request, exc)
        except InputError as exc:
            if exc.field.endswith(".id") or exc.field == "stimulator.link":
                return error_page(request, 404, str(exc))
            return error_page(request, 502, f"reading the stimulator failed: {exc}")
        except (ProgrammerError, AckLost, LinkRefused, OSError) as exc:
            return error_page(request, 502, f"reading the stimulator failed: {exc}")
        return _back(patient_id, device_id, "stimulator-read")

    @router.post(base + "/impedances", response_class=HTMLResponse)
    async def impedances_post(patient_id: str, device_id: str, request: Request,
                              user: User = Depends(page_user),
                              ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """A set of impedances typed in by hand (source "manual")."""
        form = await write_form(request, ctx, user, "record impedances")
        summary = _check_exists(ctx, patient_id, device_id)
        try:
            values = parse_impedances(form.get("impedances", ""))
            at = parse_at(form.get("at", ""), "impedances.at")
            ctx.services.record_impedance_set(actor=user, patient_id=patient_id,
                                              device_id=device_id, values=values,
                                              source=MeasurementSource.MANUAL, at=at)  # fmt: skip
        except (PermissionDenied, InputError) as exc:
            return _again(request, ctx, user, "impedances", patient_id, summary, form, exc)
        return _back(patient_id, device_id, "impedances")

    @router.post(base + "/battery", response_class=HTMLResponse)
    async def battery_post(patient_id: str, device_id: str, request: Request,
                           user: User = Depends(page_user),
                           ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """A battery reading typed in by hand: a voltage and/or a percentage."""
        form = await write_form(request, ctx, user, "record battery readings")
        summary = _check_exists(ctx, patient_id, device_id)
        try:
            voltage = _optional(form.get("voltage", ""), "battery.voltage", Dimension.VOLTAGE)
            percent = parse_percent(form.get("percent", ""), "battery.percent")
            at = parse_at(form.get("at", ""), "battery.at")
            ctx.services.record_battery_reading(actor=user, patient_id=patient_id,
                                                device_id=device_id,
                                                source=MeasurementSource.MANUAL,
                                                voltage=voltage, percent=percent,
                                                at=at)  # fmt: skip
        except (PermissionDenied, InputError) as exc:
            return _again(request, ctx, user, "battery", patient_id, summary, form, exc)
        return _back(patient_id, device_id, "battery")

    return router
