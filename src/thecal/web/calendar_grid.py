"""The refill calendar as a month or week grid: which days a view shows, and per day how many
refills fall due and the first few of them (read per day from the repository's due-date index,
so a view costs the same for 100 patients or 100,000)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import pint

from thecal.clinic.calendar import CalendarEntry, day_entries
from thecal.clinic.ports import ClinicRepository

PER_DAY = 5  # names listed in a day's cell; the cell says how many more there are


class View(StrEnum):
    TABLE = "table"
    MONTH = "month"
    WEEK = "week"


@dataclass(frozen=True)
class Day:
    """One cell: the date, whether it is in the month shown, ``count`` refills due that day
    and the first :data:`PER_DAY` of them."""

    on: date
    in_period: bool
    count: int
    entries: tuple[CalendarEntry, ...]

    @property
    def more(self) -> int:
        return self.count - len(self.entries)


@dataclass(frozen=True)
class Grid:
    """Weeks (Monday first) of :class:`Day`; ``title`` names the period; ``previous`` and
    ``following`` are the start dates of the neighbouring periods."""

    view: View
    title: str
    weeks: tuple[tuple[Day, ...], ...]
    previous: date
    following: date


def period(view: View, start: date) -> tuple[date, date, date, date]:
    """``(first, last)`` days shown (whole weeks, Monday to Sunday) and ``(previous, next)``
    period starts. A month view shows the month of ``start``; a week view its week."""
    if view is View.MONTH:
        first_of_month = start.replace(day=1)
        next_month = (first_of_month + timedelta(days=32)).replace(day=1)
        previous = (first_of_month - timedelta(days=1)).replace(day=1)
        first = first_of_month - timedelta(days=first_of_month.weekday())
        last_of_month = next_month - timedelta(days=1)
        last = last_of_month + timedelta(days=6 - last_of_month.weekday())
        return first, last, previous, next_month
    monday = start - timedelta(days=start.weekday())
    return monday, monday + timedelta(days=6), monday - timedelta(days=7), monday + timedelta(7)


def build_grid(
    repo: ClinicRepository, view: View, start: date, today: date, soon: pint.Quantity
) -> Grid:
    """The grid of ``view`` around ``start``; statuses are as of ``today`` (``soon``: the
    calendar's look-ahead window, a time)."""
    first, last, previous, following = period(view, start)
    days: list[Day] = []
    on = first
    while on <= last:
        count, entries = day_entries(repo, on, today, soon, PER_DAY)
        in_period = on.month == start.month if view is View.MONTH else True
        days.append(Day(on, in_period, count, entries))
        on += timedelta(days=1)
    weeks = tuple(tuple(days[i : i + 7]) for i in range(0, len(days), 7))
    if view is View.MONTH:
        title = f"{start:%B %Y}"
    else:
        title = f"week of {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    return Grid(view, title, weeks, previous, following)


WEEKDAYS: Sequence[str] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                           "Sunday")  # fmt: skip

__all__ = ["PER_DAY", "WEEKDAYS", "Day", "Grid", "View", "build_grid", "period"]
