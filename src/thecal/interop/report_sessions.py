"""The session reports a clinician files in the chart: the refill session record (what the
refill wizard prints) and the programming or interrogation session report. Each reads one
session of one patient through the clinic's services and renders it with the web app's
templates (:mod:`thecal.interop.report_render`)."""

from dataclasses import dataclass
from typing import Any

from thecal.clinic.errors import NotFoundError
from thecal.clinic.interrogation import read_snapshot
from thecal.clinic.refill_program_delivery import NOT_PROGRAMMED, OLD_PROGRAM
from thecal.clinic.refill_session import session_change
from thecal.clinic.services import ClinicServices
from thecal.interop.report_render import Printed, render_html, to_pdf
from thecal.interop.report_therapy import header, therapy_of
from thecal.units import InputError


@dataclass(frozen=True)
class Report:
    """A rendered report: its file name (``<kind>-<mrn>-<date>.pdf``) and its HTML."""

    filename: str
    html: str

    def pdf(self) -> bytes:
        """The report as PDF bytes."""
        return to_pdf(self.html)


def _safe(text: str) -> str:
    """``text`` usable in a file name (letters, digits, ``-`` and ``_`` only)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:60]


def refill_report(
    svc: ClinicServices[Any], printed: Printed, *, patient_id: str, refill_id: str
) -> Report:
    """The refill session record of ``refill_id`` (NotFoundError: no such patient or refill
    of this patient)."""
    record = svc.patient_record(patient_id=patient_id)
    refill = next((r for r in record.refills if r.id == refill_id), None)
    if refill is None:
        raise NotFoundError("refill", refill_id)
    # What was sent to the pump for this refill, and the reasons given to the pump's own check
    # that the clinic did not record (the wizard's session page shows the same).
    deliveries = svc.implant_links.deliveries(patient_id=patient_id)
    delivery = next((d for d in deliveries if d.what == "refill"
                     and d.at == refill.performed_at), None)  # fmt: skip
    sent = delivery.payload if delivery is not None else ()
    recorded = {code for code, _ in refill.overrides}
    given = {k.removeprefix("reason:"): v for k, v in sent if k.startswith("reason:")}
    device = next((d for d in record.devices if d.id == refill.device_id), None)
    p = record.patient
    html = render_html(
        "refill.html", printed, title="Refill session record", p=p,
        session_date=f"{refill.performed_at:%Y-%m-%d %H:%M}", session_by=refill.by,
        refill=refill, device=device, delivery=delivery,
        pump_reasons={k: v for k, v in given.items() if k not in recorded},
        changed=session_change(svc.uow, patient_id=patient_id, refill=refill),
        OLD_PROGRAM=OLD_PROGRAM, NOT_PROGRAMMED=NOT_PROGRAMMED,
    )  # fmt: skip
    return Report(f"refill-{_safe(p.mrn)}-{refill.performed_at:%Y-%m-%d}.pdf", html)


def session_report(
    svc: ClinicServices[Any], printed: Printed, *, patient_id: str, session_id: str
) -> Report:
    """The report of a programming session (a program change's id) or an interrogation (its
    id) of ``patient_id`` (NotFoundError: neither, or another patient's)."""
    p = svc.patient(patient_id=patient_id)
    with svc.uow.reader() as repo:
        change = next((c for c in repo.program_changes_for(patient_id) if c.id == session_id),
                      None)  # fmt: skip
        versions = list(repo.prescriptions_for(patient_id))
    if change is not None:
        rx = next((v for v in versions if v.version == change.new_version), None)
        therapy = problem = None
        if rx is not None:
            try:
                therapy = therapy_of(svc, rx)
            except InputError as exc:  # an old plan that no longer resolves: say so
                problem = str(exc)
        html = render_html(
            "session.html", printed, title="Programming session report", p=p,
            session_date=f"{change.at:%Y-%m-%d %H:%M}", session_by=change.by, v=None,
            change=change, therapy=therapy, problem=problem,
        )  # fmt: skip
        return Report(f"programming-{_safe(p.mrn)}-{change.at:%Y-%m-%d}.pdf", html)
    interrogation = svc.interrogation(patient_id=patient_id, interrogation_id=session_id)
    view = read_snapshot(interrogation)
    html = render_html(
        "session.html", printed, title="Interrogation session report", p=p,
        session_date=f"{interrogation.at:%Y-%m-%d %H:%M}", session_by=interrogation.by,
        v=view, h=header(svc, patient_id),
    )  # fmt: skip
    return Report(f"interrogation-{_safe(p.mrn)}-{interrogation.at:%Y-%m-%d}.pdf", html)


__all__ = ["Report", "refill_report", "session_report"]
