"""The refill calendar, paged: API query parameters, the web page and the dashboard's counts."""

import re

from fastapi.testclient import TestClient

from tests.web.conftest import login
from thecal.api.context import AppContext
from thecal.clinic.calendar import RefillStatus, refill_calendar


def _api_login(client: TestClient) -> None:
    r = client.post("/api/v1/login", json={"username": "viewer", "password": "demo-viewer"})
    assert r.status_code == 200, r.text


def test_api_calendar_pages_through_the_whole_calendar(client: TestClient, ctx: AppContext) -> None:
    with ctx.uow.reader() as repo:
        everything = refill_calendar(repo, ctx.today(), ctx.soon)
    assert len(everything) >= 3
    _api_login(client)
    seen: list[str] = []
    offset = 0
    while True:
        page = client.get("/api/v1/calendar", params={"limit": 1, "offset": offset}).json()
        assert page["total"] == len(everything) and len(page["entries"]) <= 1
        if not page["entries"]:
            break
        seen += [e["patient_id"] for e in page["entries"]]
        offset += 1
    assert seen == [e.patient_id for e in everything]
    assert sum(page["counts"].values()) == len(everything)
    assert page["soon"] == {"value": 7.0, "unit": "d"}


def test_api_calendar_filters_by_status(client: TestClient, ctx: AppContext) -> None:
    with ctx.uow.reader() as repo:
        everything = refill_calendar(repo, ctx.today(), ctx.soon)
    wanted = {RefillStatus.OVERDUE.value, RefillStatus.SCHEDULED.value}
    _api_login(client)
    page = client.get(
        "/api/v1/calendar", params=[("status", "overdue"), ("status", "scheduled")]
    ).json()
    assert [e["patient_id"] for e in page["entries"]] == [
        e.patient_id for e in everything if e.status.value in wanted
    ]
    assert set(page["statuses"]) == wanted


def test_api_calendar_rejects_bad_paging(client: TestClient) -> None:
    _api_login(client)
    for params in ({"limit": -1}, {"offset": -3}, {"limit": 100_000}, {"status": "late"}):
        r = client.get("/api/v1/calendar", params=params)
        assert r.status_code == 422, params
        assert r.json()["detail"][0]["field"].split(".")[0] in ("limit", "offset", "status")


def test_web_calendar_page_and_dashboard_counts(client: TestClient, ctx: AppContext) -> None:
    with ctx.uow.reader() as repo:
        everything = refill_calendar(repo, ctx.today(), ctx.soon)
    login(client, "viewer")
    html = client.get("/calendar").text  # default: overdue, due, due soon
    shown = re.findall(r'<tr class="([a-z-]+)">', html)
    urgent = (RefillStatus.OVERDUE, RefillStatus.DUE, RefillStatus.DUE_SOON)
    assert shown == [e.status.value for e in everything if e.status in urgent]
    html = client.get("/calendar", params={"status": "unknown"}).text
    expected = sum(1 for e in everything if e.status is RefillStatus.UNKNOWN)
    assert len(re.findall(r'<tr class="unknown">', html)) == expected
    dash = client.get("/").text
    for status in RefillStatus:
        n = sum(1 for e in everything if e.status is status)
        assert f"{n} {status.value}</span>" in dash
    assert client.get("/calendar", params={"offset": -1}).status_code == 422
