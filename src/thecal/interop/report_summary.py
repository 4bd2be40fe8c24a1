"""The patient therapy summary: the patient header, the devices, the current therapy with every
drug's daily dose, the refill history (chart and table), every finding and assessment in the
record (refills, program changes, interrogations), the alarms and complications."""

from datetime import datetime
from typing import Any

from thecal.clinic.model import StoredFinding
from thecal.clinic.services import ClinicServices
from thecal.interop.report_chart import refill_history_svg
from thecal.interop.report_render import Printed, render_html, svg_data_url
from thecal.interop.report_sessions import Report, _safe
from thecal.interop.report_therapy import header


def summary_report(svc: ClinicServices[Any], printed: Printed, *, patient_id: str) -> Report:
    """The therapy summary of ``patient_id`` now (NotFoundError: no such patient)."""
    h = header(svc, patient_id)
    with svc.uow.reader() as repo:
        devices = tuple(repo.devices_for(patient_id))
        refills = tuple(repo.refills_for(patient_id))
        changes = tuple(repo.program_changes_for(patient_id))
        interrogations = tuple(repo.interrogations_for(patient_id))
        alarms = tuple(repo.alarms_for(patient_id))
        complications = tuple(repo.complications_for(patient_id))
    findings: list[tuple[datetime, str, StoredFinding]] = [
        *((r.performed_at, "refill", f) for r in refills for f in r.findings),
        *((c.at, f"program v{c.new_version}", f) for c in changes for f in c.findings),
        *((i.at, "interrogation", f) for i in interrogations for f in i.findings),
    ]
    findings.sort(key=lambda row: row[0], reverse=True)  # newest first, as the chart's key
    chart = svg_data_url(refill_history_svg(refills)) if refills else None
    p = h.patient
    html = render_html(
        "summary.html", printed, title="Patient therapy summary", p=p,
        session_date=f"{printed.at:%Y-%m-%d}", session_by=printed.by, h=h,
        patient_header=lambda _request, _id: h, devices=devices, refills=refills,
        chart=chart, findings=findings,
        alarms=sorted(alarms, key=lambda a: a.raised_at, reverse=True),
        complications=complications,
    )  # fmt: skip
    return Report(f"summary-{_safe(p.mrn)}-{printed.at:%Y-%m-%d}.pdf", html)


__all__ = ["summary_report"]
