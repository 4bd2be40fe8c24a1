"""The refill calendar's month and week grids: the days shown, every dated refill on its due
day (the same entries as the table), today marked, neighbouring periods, and start-date edges."""

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.web.conftest import login
from thecal.api.context import AppContext
from thecal.clinic.calendar import refill_calendar
from thecal.web.calendar_grid import View, period
from thecal.web.pages_calendar import START_MAX, START_MIN


def test_month_period_is_whole_weeks_around_the_month() -> None:
    # November 2026: the 1st is a Sunday, the 30th a Monday → Mon 26 Oct to Sun 6 Dec (6 weeks).
    first, last, previous, following = period(View.MONTH, date(2026, 11, 17))
    assert (first, last) == (date(2026, 10, 26), date(2026, 12, 6))
    assert (previous, following) == (date(2026, 10, 1), date(2026, 12, 1))
    # A week: Monday to Sunday around a Wednesday.
    assert period(View.WEEK, date(2026, 11, 25)) == (
        date(2026, 11, 23), date(2026, 11, 29), date(2026, 11, 16), date(2026, 11, 30),
    )  # fmt: skip


@given(st.dates(START_MIN, START_MAX), st.sampled_from([View.MONTH, View.WEEK]))
def test_every_period_is_whole_weeks_holding_its_start(start: date, view: View) -> None:
    first, last, previous, following = period(view, start)
    assert first.weekday() == 0 and last.weekday() == 6 and first <= start <= last
    assert ((last - first).days + 1) % 7 == 0
    assert previous < start < following
    if view is View.MONTH:
        assert (
            previous.day == 1
            and following.day == 1
            and period(view, following)[0] <= last + timedelta(1)
        )


def test_month_view_puts_each_refill_on_its_due_day(client: TestClient, ctx: AppContext) -> None:
    with ctx.uow.reader() as repo:
        dated = [e for e in refill_calendar(repo, ctx.today(), ctx.soon) if e.due is not None]
    assert dated
    login(client, "nurse")
    for e in dated:
        html = client.get("/calendar", params={"view": "month", "start": f"{e.due:%Y-%m-%d}"}).text
        cell = re.search(rf'<time datetime="{e.due:%Y-%m-%d}">.*?</td>', html, re.S)
        assert cell is not None and f"/patients/{e.patient_id}" in cell.group(0)
        assert e.status.value in cell.group(0)  # the status in words beside its colour


def test_today_is_marked_and_the_week_view_has_seven_days(
    client: TestClient, ctx: AppContext
) -> None:
    login(client, "nurse")
    today = ctx.today()
    for view in ("month", "week"):
        html = client.get("/calendar", params={"view": view}).text
        assert html.count('aria-current="date"') == 1
        assert f'<time datetime="{today}">' in html and "(today)" in html
    week = client.get("/calendar", params={"view": "week"}).text
    assert week.count("<time datetime=") == 7
    with ctx.uow.reader() as repo:
        overdue = [e for e in refill_calendar(repo, today, ctx.soon) if e.status.value == "overdue"]
    assert overdue  # the demo's DEMO-0001 stopped refilling
    # Overdue refills sit on past days: the grid says how many and links their list.
    assert f"{len(overdue)} refill" in week and 'href="/calendar?status=overdue"' in week
    table = client.get("/calendar", params={"view": "table"}).text
    assert 'class="calendar-grid"' not in table and "<fieldset>" in table


def test_start_edges_and_bad_values(client: TestClient) -> None:
    login(client, "nurse")
    assert (
        client.get("/calendar", params={"view": "month", "start": str(START_MIN)}).status_code
        == 200
    )
    assert (
        client.get("/calendar", params={"view": "month", "start": str(START_MAX)}).status_code
        == 200
    )
    for start in (str(START_MIN - timedelta(days=1)), str(START_MAX + timedelta(days=1)),
                  "9999-12-31", "0001-01-01", "2026-02-30", "yesterday"):  # fmt: skip
        r = client.get("/calendar", params={"view": "month", "start": start})
        assert r.status_code == 422, (start, r.status_code)
        assert "text/html" in r.headers["content-type"]
    assert client.get("/calendar", params={"view": "year"}).status_code == 422
