"""The day's refill worksheet: every patient the calendar has due on a day (the calendar's
:func:`~thecal.clinic.calendar.day_entries`), with each drug (concentration, daily dose), the
expected residual at the due time (from the last fill under every prescription since: the
patient header's rule), the last fill's volume, and blank columns to write the withdrawn and
filled volumes and the lot at the pump."""

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import pint

from thecal.clinic.calendar import CalendarEntry, day_entries
from thecal.clinic.services import ClinicServices
from thecal.interop.report_render import Printed, render_html
from thecal.interop.report_sessions import Report
from thecal.interop.report_therapy import DrugLine, expected_at, therapy_of
from thecal.units import InputError

# At most this many rows on one worksheet (the calendar's list prints the rest): a product
# choice bounding the work of one request, not a clinical number.
WORKSHEET_ROWS = 200


@dataclass(frozen=True)
class WorksheetRow:
    """One patient due: ``residual`` the expected reservoir volume at the due time (mL; None:
    no fill or prescription known) and ``last_fill`` the volume filled at the last refill."""

    entry: CalendarEntry
    drugs: tuple[DrugLine, ...]
    residual: pint.Quantity | None
    last_fill: pint.Quantity | None
    problem: str | None


def _row(svc: ClinicServices[Any], entry: CalendarEntry, day: date) -> WorksheetRow:
    with svc.uow.reader() as repo:
        versions = list(repo.prescriptions_for(entry.patient_id))
        refills = list(repo.refills_for(entry.patient_id))
    last_fill = refills[-1].filled.to("mL") if refills else None
    if not versions:
        return WorksheetRow(entry, (), None, last_fill, None)
    at = entry.due or datetime.combine(day, time(12))  # no due time: the day's noon
    try:
        therapy = therapy_of(svc, versions[-1])
        residual = expected_at(svc, versions, refills, therapy, at)
    except InputError as exc:  # an old plan that no longer resolves: say so on its row
        return WorksheetRow(entry, (), None, last_fill, str(exc))
    return WorksheetRow(entry, therapy.drugs, residual, last_fill, None)


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` as a date (InputError naming ``day``)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("day", f"got {text[:40]!r}", "a date YYYY-MM-DD") from None


def worksheet_report(svc: ClinicServices[Any], printed: Printed, *, day: date) -> Report:
    """The refill worksheet of ``day`` (statuses as of the clinic's today)."""
    today = svc.today()
    with svc.uow.reader() as repo:
        count, entries = day_entries(repo, day, today, svc.due_soon, WORKSHEET_ROWS)
    rows = tuple(_row(svc, e, day) for e in entries)
    html = render_html(
        "worksheet.html", printed, title=f"Refill worksheet {day}", p=None,
        session_date=f"{day}", session_by=printed.by, day=day, today=today, count=count,
        rows=rows,
    )  # fmt: skip
    return Report(f"worksheet-{day}.pdf", html)


__all__ = ["WORKSHEET_ROWS", "WorksheetRow", "parse_day", "worksheet_report"]
