"""``/api/v1/reports``: the PDF reports (:mod:`thecal.interop`) — the refill session record,
the programming or interrogation session report, the patient therapy summary and the day's
refill worksheet — as ``application/pdf`` downloads, and the CSV export of each registry table
and of the audit log (``/reports/csv/{table}``, ``text/csv``). Every signed-in role may read
the reports and the registry tables (a viewer too); the audit log only a physician or a nurse
(403). An unknown patient or session → 404; a malformed day or unknown table → 422 naming it."""

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from thecal.api.context import services
from thecal.api.deps import api_user
from thecal.api.errors import input_error, responses
from thecal.clinic.model import User
from thecal.clinic.services import ClinicServices
from thecal.interop.csv_export import export_tables
from thecal.interop.report_render import PDF, Printed
from thecal.interop.report_sessions import Report, refill_report, session_report
from thecal.interop.report_summary import summary_report
from thecal.interop.report_worksheet import parse_day, worksheet_report
from thecal.units import InputError

router = APIRouter(prefix="/reports", tags=["reports"])
CSV = "text/csv; charset=utf-8"

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {PDF: _BINARY}, "description": "the report as a PDF file"}
}
_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: _BINARY}, "description": "the table as a CSV file (docs/reports.md)"}
}


def printed(user: User, svc: ClinicServices[Any]) -> Printed:
    """Who prints (display name and role) and when (the clinic's clock)."""
    return Printed(f"{user.display_name} ({user.role.value})", svc.clock())


def pdf_response(report: Report) -> Response:
    return Response(report.pdf(), media_type=PDF, headers={
        "Content-Disposition": f'attachment; filename="{report.filename}"'})  # fmt: skip


@router.get("/refill/{patient_id}/{refill_id}", response_class=Response,
            responses={**_PDF_RESPONSE, **responses(401, 404)})  # fmt: skip
def refill_pdf(patient_id: str, refill_id: str, user: User = Depends(api_user),
               svc: ClinicServices[Any] = Depends(services)) -> Response:  # fmt: skip
    """The refill session record of one refill."""
    try:
        return pdf_response(refill_report(svc, printed(user, svc), patient_id=patient_id,
                                          refill_id=refill_id))  # fmt: skip
    except InputError as exc:
        raise input_error(exc) from None


@router.get("/session/{patient_id}/{session_id}", response_class=Response,
            responses={**_PDF_RESPONSE, **responses(401, 404)})  # fmt: skip
def session_pdf(patient_id: str, session_id: str, user: User = Depends(api_user),
                svc: ClinicServices[Any] = Depends(services)) -> Response:  # fmt: skip
    """The report of a programming session (program change id) or an interrogation (its id)."""
    try:
        return pdf_response(session_report(svc, printed(user, svc), patient_id=patient_id,
                                           session_id=session_id))  # fmt: skip
    except InputError as exc:
        raise input_error(exc) from None


@router.get("/summary/{patient_id}", response_class=Response,
            responses={**_PDF_RESPONSE, **responses(401, 404)})  # fmt: skip
def summary_pdf(patient_id: str, user: User = Depends(api_user),
                svc: ClinicServices[Any] = Depends(services)) -> Response:  # fmt: skip
    """The patient therapy summary: devices, current therapy with every drug's daily dose,
    the refill history (chart and table), findings, assessments, alarms."""
    try:
        return pdf_response(summary_report(svc, printed(user, svc), patient_id=patient_id))
    except InputError as exc:
        raise input_error(exc) from None


@router.get("/worksheet/{day}", response_class=Response,
            responses={**_PDF_RESPONSE, **responses(401, 422)})  # fmt: skip
def worksheet_pdf(day: str, user: User = Depends(api_user),
                  svc: ClinicServices[Any] = Depends(services)) -> Response:  # fmt: skip
    """The refill worksheet of ``day`` (YYYY-MM-DD): every patient due, each drug, the
    expected residual and the last fill's volume."""
    try:
        return pdf_response(worksheet_report(svc, printed(user, svc), day=parse_day(day)))
    except InputError as exc:
        raise input_error(exc) from None


@router.get("/csv/{table}", response_class=Response,
            responses={**_CSV_RESPONSE, **responses(401, 403, 422)})  # fmt: skip
def csv_table(table: str, user: User = Depends(api_user),
              svc: ClinicServices[Any] = Depends(services)) -> Response:  # fmt: skip
    """One table as CSV: patients, devices, procedures, prescriptions, refills,
    interrogations, alarms or audit (docs/reports.md). Quantities are a number column and a
    UCUM unit column; the audit log is for a physician or a nurse only (403)."""
    try:
        files = export_tables(svc, user, [table])
    except InputError as exc:
        raise input_error(exc) from None
    name, text = next(iter(files.items()))
    return Response(text.encode("utf-8"), media_type=CSV,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
