"""The audit viewer (/audit) and the worklist (/worklist) pages on the demo clinic: both in
the navigation; the audit log filtered by who, what, when and patient, paged newest first; a
viewer refused (403 page); a bad filter the 422 page naming the field. The worklist with each
item's level as text in the shared status classes and a link to the patient, most urgent
first."""

import re

from fastapi.testclient import TestClient

from tests.api.test_alarms_api import _interrogated
from tests.web.conftest import login
from thecal.api.context import AppContext

# A worklist level → its status class (an overdue refill is hard: the pump may run dry).
URGENCY = {"critical": "status-hard", "hard": "status-hard", "overdue": "status-hard",
           "non-critical": "status-soft", "soft": "status-soft"}  # fmt: skip


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


def test_nav_links_both_pages(client: TestClient) -> None:
    login(client, "nurse")
    page = client.get("/").text
    assert '<a href="/worklist">Worklist</a>' in page and '<a href="/audit">Audit</a>' in page


def test_audit_page_filters_and_pages(client: TestClient, ctx: AppContext) -> None:
    pid = _interrogated(ctx)  # writes an interrogation (and its alarms) for DEMO-0001
    login(client, "nurse")
    page = client.get("/audit")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Audit log</h1>" in html and '<label for="from">' in html
    assert '<th scope="col">what changed</th>' in html
    assert len(_rows(html)) == 50 and 'rel="next"' in html and 'rel="prev"' not in html
    second = client.get("/audit?page=2").text
    assert 'rel="prev"' in second and _rows(second)
    seq_first = [int(re.search(r"<td>(\d+)</td>", r).group(1)) for r in _rows(html)]  # type: ignore[union-attr]
    assert seq_first == sorted(seq_first, reverse=True)  # newest first

    by_patient = client.get("/audit", params={"patient": "DEMO-0001", "what": "interrogation"})
    rows = _rows(by_patient.text)
    assert rows and all("interrogation" in r for r in rows)
    assert f'href="/patients/{pid}"' in by_patient.text  # the caption links the patient
    # The filters stay in the form and in the page links.
    assert 'value="DEMO-0001"' in by_patient.text


def test_audit_from_equal_to_to_is_that_day(client: TestClient, ctx: AppContext) -> None:
    login(client, "nurse")
    with ctx.uow.session() as s:
        from sqlalchemy import select

        from thecal.store.schema import AuditRow

        newest = s.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).scalar_one()
        seq, day = newest.seq, newest.at.date().isoformat()
    html = client.get("/audit", params={"from": day, "to": day}).text
    assert f"<td>{seq}</td>" in html
    assert all(f"<td>{day} " in r for r in _rows(html))  # every time shown is on that day


def test_audit_refuses_a_viewer_and_names_a_bad_field(client: TestClient) -> None:
    login(client, "viewer")
    refused = client.get("/audit")
    assert refused.status_code == 403 and "may not read the audit log" in refused.text
    assert "<html" in refused.text  # the HTML error page, not JSON
    client.cookies.clear()
    login(client, "physician")
    assert client.get("/audit").status_code == 200
    bad = client.get("/audit", params={"from": "2024-13-01"})
    assert bad.status_code == 422 and "from: " in bad.text and "YYYY-MM-DD" in bad.text
    reversed_days = client.get("/audit", params={"from": "2024-02-02", "to": "2024-02-01"})
    assert reversed_days.status_code == 422 and "to: " in reversed_days.text
    assert client.get("/audit", params={"patient": "NOBODY"}).status_code == 422
    assert client.get("/audit", params={"page": "0"}).status_code == 422


def test_worklist_page(client: TestClient, ctx: AppContext) -> None:
    assert client.get("/worklist", follow_redirects=False).status_code == 303  # sign in first
    pid = _interrogated(ctx)
    items = ctx.services.worklist()
    assert items
    login(client, "viewer")  # any signed-in user reads the worklist
    html = client.get("/worklist").text
    assert "<h1>Worklist</h1>" in html
    rows = _rows(html)
    assert len(rows) == len(items)
    levels = [re.search(r'class="status (status-\w+)">([^<]+)<', r).groups() for r in rows]  # type: ignore[union-attr]
    assert [text for _, text in levels] == [i.level for i in items]  # in the worklist's order
    for cls, text in levels:
        assert cls == URGENCY.get(text, "status-info"), (cls, text)
    assert f'<a href="/patients/{pid}">' in html
