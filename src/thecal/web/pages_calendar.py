"""The refill calendar pages: the dashboard (what is due, open alarms, pump replacements) and
the paged calendar filtered by refill status."""

from collections.abc import Sequence
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse

from thecal.api.context import AppContext, context
from thecal.clinic.calendar import RefillStatus
from thecal.clinic.model import User
from thecal.units import fmt
from thecal.web.calendar_grid import WEEKDAYS, View, build_grid
from thecal.web.pages_common import page_user, render

DASHBOARD_STATUSES = (RefillStatus.OVERDUE, RefillStatus.DUE, RefillStatus.DUE_SOON)
DASHBOARD_ROWS = 25
CALENDAR_ROWS = 50
OFFSET_MAX = 10**9  # more rows than any clinic has; a larger offset is 422, not an overflow
# The grid's start date: a product choice wide enough for any refill date, and far from the
# ends of Python's dates (a month view reaches into the next month).
START_MIN = date(1900, 1, 1)
START_MAX = date(2999, 12, 31)


def _calendar_query(statuses: Sequence[RefillStatus], offset: int) -> str:
    """The calendar page's query string for ``statuses`` from row ``offset``."""
    return urlencode([("status", s.value) for s in statuses] + [("offset", str(offset))])


router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: User = Depends(page_user),
              ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    # Counts for the whole clinic, rows for the first page only (100,000 patients).
    d = ctx.services.dashboard(statuses=DASHBOARD_STATUSES, rows=DASHBOARD_ROWS, replacements=10)
    return render(request, ctx, "dashboard.html", user=user, today=d.today, page=d.page,
                  alarms=d.alarms, names=d.names, plans=d.plans)  # fmt: skip


@router.get("/calendar", response_class=HTMLResponse)
def calendar(request: Request, status: list[RefillStatus] | None = Query(None),
             offset: int = Query(0, ge=0, le=OFFSET_MAX), view: View = Query(View.TABLE),
             start: date | None = Query(None), user: User = Depends(page_user),
             ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    """The table (paged, filtered by status) or a month / week grid around ``start`` (default
    today; START_MIN to START_MAX inclusive, else 422)."""
    chosen = tuple(status) if status else DASHBOARD_STATUSES
    page = ctx.services.calendar(statuses=chosen, limit=CALENDAR_ROWS, offset=offset)
    grid = shown = None
    if view is not View.TABLE:
        shown = start or page.today
        if not START_MIN <= shown <= START_MAX:
            raise HTTPException(422, f"start: {shown} is outside {START_MIN} to {START_MAX}")
        with ctx.uow.reader() as repo:
            grid = build_grid(repo, view, shown, page.today, ctx.soon)
    return render(request, ctx, "calendar.html", user=user, page=page, soon=fmt(ctx.soon),
                  query=_calendar_query, view=view, grid=grid, weekdays=WEEKDAYS,
                  View=View, anchor=shown)  # fmt: skip
