"""The patient header every patient page shows: who (name, record number, age), what is
implanted and for how long, every drug of the admixture with its daily dose and concentration,
the pump's daily volume (mL/d) and rate (mL/h), the next refill (date, days left) and the
expected reservoir volume now, and the number of open alarms.

One computation serves the page and the PDF reports: :func:`thecal.interop.report_therapy.header`
(the calendar's :func:`entry_for`, the therapy core's :func:`daily_dose` and
:func:`expected_volume` under the prescriptions since the last fill), so the header says what
the calendar, the charts and the printed summary say."""

import pint

from thecal.api.context import AppContext
from thecal.interop.report_therapy import DrugLine, header
from thecal.interop.report_therapy import ReportHeader as PatientHeader
from thecal.units import InputError


def build_header(ctx: AppContext, patient_id: str) -> PatientHeader:
    """The header of ``patient_id`` now (``NotFoundError``/``InputError`` for no patient)."""
    return header(ctx.services, patient_id)


def header_for(ctx: AppContext, patient_id: str) -> PatientHeader | None:
    """:func:`build_header`, or None when there is no such patient (the page says so itself)."""
    try:
        return build_header(ctx, patient_id)
    except InputError:
        return None


def years(q: pint.Quantity) -> str:
    """A dwell time in days as text: "412 d (1.1 years)"; 1 year = 365.25 d (Julian year)."""
    days = float(q.to("d").magnitude)
    return f"{days:,.0f} d ({days / 365.25:.1f} years)" if days >= 365.25 else f"{days:,.0f} d"


__all__ = ["DrugLine", "PatientHeader", "build_header", "header_for", "years"]
