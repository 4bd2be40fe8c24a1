"""The refill calendar: who is overdue, due today, due soon — from the refill-by date the
therapy core computed at each patient's last refill (:func:`thecal.therapy.refill_dates.forecast`)
and the reason that decided it, or the planned appointment when that is earlier.

"Today" is an argument: the calendar never reads a clock.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import pint

from thecal.clinic.model import DeviceKind, Patient, RefillRecord
from thecal.clinic.ports import ClinicRepository
from thecal.units import Dimension, InputError, check_dimension


class RefillStatus(StrEnum):
    OVERDUE = "overdue"  # the due date has passed
    DUE = "due"  # due today
    DUE_SOON = "due-soon"  # within the look-ahead window
    SCHEDULED = "scheduled"  # later
    UNKNOWN = "unknown"  # a pump in place but no refill recorded: no date can be computed

    @property
    def rank(self) -> int:
        return list(RefillStatus).index(self)


PLANNED_LABEL = "planned refill appointment"


@dataclass(frozen=True)
class CalendarEntry:
    """One patient's next refill. ``due`` is the date the refill is due; ``reason`` what decided
    it (the forecast's ``decided_by`` or the appointment) and ``source`` where that rule is
    from; ``days_left`` is ``due − today`` in whole days (negative when overdue)."""

    patient_id: str
    mrn: str
    display_name: str
    status: RefillStatus
    due: datetime | None
    reason: str
    source: str
    refill_by: datetime | None
    planned_refill: datetime | None
    last_refill_at: datetime | None
    days_left: int | None


def classify(due: date | None, today: date, soon: timedelta) -> RefillStatus:
    """Overdue before ``today``, due on it, due soon up to ``today + soon`` (inclusive)."""
    if due is None:
        return RefillStatus.UNKNOWN
    if due < today:
        return RefillStatus.OVERDUE
    if due == today:
        return RefillStatus.DUE
    if due <= today + soon:
        return RefillStatus.DUE_SOON
    return RefillStatus.SCHEDULED


def _window(soon: pint.Quantity) -> timedelta:
    check_dimension(soon, "calendar.soon", Dimension.TIME)
    if soon.magnitude < 0:
        raise InputError("calendar.soon", "must not be negative", "a duration such as '7 d'")
    return timedelta(days=float(soon.to("d").magnitude))


def entry_for(
    patient: Patient, last: RefillRecord | None, today: date, soon: pint.Quantity
) -> CalendarEntry:
    """The calendar entry of one patient given their last refill (None: none recorded)."""
    window = _window(soon)
    if last is None:
        return CalendarEntry(
            patient.id, patient.mrn, patient.display_name, RefillStatus.UNKNOWN, None,
            "no refill recorded: the next refill date cannot be computed", "", None, None, None,
            None,
        )  # fmt: skip
    due, reason, source = last.refill_by, last.decided_by, _decided_source(last)
    if last.planned_refill is not None and (due is None or last.planned_refill < due):
        # The appointment comes first; the forecast's date stays visible as refill_by.
        due, reason, source = last.planned_refill, PLANNED_LABEL, f"entered by {last.by}"
    status = classify(due.date() if due else None, today, window)
    return CalendarEntry(
        patient.id, patient.mrn, patient.display_name, status, due, reason, source,
        last.refill_by, last.planned_refill, last.performed_at,
        (due.date() - today).days if due else None,
    )  # fmt: skip


def _decided_source(r: RefillRecord) -> str:
    for c in r.candidates:
        if c.at == r.refill_by and c.reason == r.decided_by:
            return c.source
    return ""


def refill_calendar(
    repo: ClinicRepository, today: date, soon: pint.Quantity
) -> tuple[CalendarEntry, ...]:
    """Every patient with a drug pump (implanted or trial) in place: overdue first, then by due
    date; patients without a recorded refill last. ``soon`` (time) is the look-ahead window
    for "due soon"."""
    latest = {r.patient_id: r for r in repo.latest_refills()}
    # One read of the devices in place instead of one per patient (100,000 patients).
    with_pump = {
        d.patient_id for d in repo.devices_in_place()
        if d.kind in (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP)
    }  # fmt: skip
    out: list[CalendarEntry] = []
    for patient in repo.list_patients():
        if patient.id not in with_pump:
            continue
        out.append(entry_for(patient, latest.get(patient.id), today, soon))
    out.sort(key=lambda e: (e.status.rank, e.due or datetime.max, e.mrn))
    return tuple(out)
