"""The refill calendar: who is overdue, due today, due soon — from the refill-by date the
therapy core computed at each patient's last refill (:func:`thecal.therapy.refill_dates.forecast`)
and the reason that decided it, or the planned appointment when that is earlier.

"Today" is an argument: the calendar never reads a clock.

A clinic of 100,000 patients cannot be classified row by row on every page view, so the
repository keeps each drug-pump patient's next due date (:func:`next_due`, indexed) and the
calendar asks it for counts per status and one page of entries (:func:`calendar_page`). The
statuses are consecutive ranges of that date, so each is one indexed range read.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

import pint

from thecal.clinic.model import Patient, RefillRecord
from thecal.clinic.ports import ClinicRepository, DueRefill, DueWindow
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
    return _entry(patient, None if last is None else DueRefill.of(last), today, _window(soon))


def _entry(
    patient: Patient, last: DueRefill | None, today: date, window: timedelta
) -> CalendarEntry:
    if last is None:
        return CalendarEntry(
            patient.id, patient.mrn, patient.display_name, RefillStatus.UNKNOWN, None,
            "no refill recorded: the next refill date cannot be computed", "", None, None, None,
            None,
        )  # fmt: skip
    due, reason, source = last.refill_by, last.decided_by, last.source
    if next_due(last.refill_by, last.planned_refill) != due:
        # The appointment comes first; the forecast's date stays visible as refill_by.
        due, reason, source = last.planned_refill, PLANNED_LABEL, f"entered by {last.by}"
    status = classify(due.date() if due else None, today, window)
    return CalendarEntry(
        patient.id, patient.mrn, patient.display_name, status, due, reason, source,
        last.refill_by, last.planned_refill, last.performed_at,
        (due.date() - today).days if due else None,
    )  # fmt: skip


def next_due(refill_by: datetime | None, planned_refill: datetime | None) -> datetime | None:
    """The date a refill is due: the forecast's refill-by date or the planned appointment,
    whichever is earlier (None when neither is known). The repository indexes this value; the
    database migration that first filled it (0003) restates the rule in SQL."""
    if planned_refill is not None and (refill_by is None or planned_refill < refill_by):
        return planned_refill
    return refill_by


def status_windows(today: date, soon: pint.Quantity) -> dict[RefillStatus, DueWindow]:
    """The due-date range of each status, consistent with :func:`classify`: overdue before
    today's midnight, due today, due soon through ``today + soon`` (whole days), scheduled
    after; unknown: no due date."""
    window = _window(soon)
    midnight = datetime.combine(today, time())
    tomorrow = midnight + timedelta(days=1)
    soon_end = tomorrow + timedelta(days=window.days)  # classify compares dates: whole days
    return {
        RefillStatus.OVERDUE: DueWindow(None, midnight),
        RefillStatus.DUE: DueWindow(midnight, tomorrow),
        RefillStatus.DUE_SOON: DueWindow(tomorrow, soon_end),
        RefillStatus.SCHEDULED: DueWindow(soon_end, None),
        RefillStatus.UNKNOWN: DueWindow(None, None, undated=True),
    }


@dataclass(frozen=True)
class CalendarPage:
    """One page of the calendar. ``counts`` holds every status for the whole clinic (for the
    dashboard's totals); ``entries`` are rows ``offset`` to ``offset + limit`` of the selected
    ``statuses`` in calendar order (status, then due date)."""

    today: date
    statuses: tuple[RefillStatus, ...]
    counts: Mapping[RefillStatus, int]
    entries: tuple[CalendarEntry, ...]
    offset: int
    limit: int | None

    @property
    def total(self) -> int:
        """Rows of the selected statuses, all pages."""
        return sum(self.counts[s] for s in self.statuses)


def calendar_page(
    repo: ClinicRepository,
    today: date,
    soon: pint.Quantity,
    statuses: Sequence[RefillStatus] = tuple(RefillStatus),
    limit: int | None = 50,
    offset: int = 0,
) -> CalendarPage:
    """Counts per status and the entries ``offset`` to ``offset + limit`` (None: all) of the
    selected statuses, in calendar order. Reads counts and one page, never the whole clinic."""
    if limit is not None and limit < 0:
        raise InputError("calendar.limit", "must not be negative", "a whole number ≥ 0")
    if offset < 0:
        raise InputError("calendar.offset", "must not be negative", "a whole number ≥ 0")
    window = _window(soon)
    windows = status_windows(today, soon)
    counts = {s: repo.count_refills_due(w) for s, w in windows.items()}
    chosen = tuple(sorted(set(statuses), key=lambda s: s.rank))
    entries: list[CalendarEntry] = []
    skip = offset
    for status in chosen:
        if limit is not None and len(entries) >= limit:
            break
        if skip >= counts[status]:
            skip -= counts[status]
            continue
        want = None if limit is None else limit - len(entries)
        for patient, last in repo.calendar_rows(windows[status], want, skip):
            entries.append(_entry(patient, last, today, window))
        skip = 0
    return CalendarPage(today, chosen, counts, tuple(entries), offset, limit)


def day_entries(
    repo: ClinicRepository, day: date, today: date, soon: pint.Quantity, limit: int
) -> tuple[int, tuple[CalendarEntry, ...]]:
    """The number of refills due on ``day`` and the first ``limit`` of them (calendar order),
    with their status as of ``today`` (``soon``: the look-ahead window, a time). Reads the
    light calendar rows, as :func:`calendar_page` does."""
    begin = datetime.combine(day, time())
    window = DueWindow(begin, begin + timedelta(days=1))
    count = repo.count_refills_due(window)
    if not count:
        return 0, ()
    ahead = _window(soon)
    rows = repo.calendar_rows(window, limit, 0)
    return count, tuple(_entry(patient, last, today, ahead) for patient, last in rows)


def refill_calendar(
    repo: ClinicRepository, today: date, soon: pint.Quantity
) -> tuple[CalendarEntry, ...]:
    """Every patient with a drug pump (implanted or trial) in place: overdue first, then by due
    date; patients without a recorded refill last. ``soon`` (time) is the look-ahead window
    for "due soon". The whole clinic: pages use :func:`calendar_page`."""
    return calendar_page(repo, today, soon, limit=None).entries
