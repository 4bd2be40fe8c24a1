"""Vendored htmx served from /static, and the refill form's live calculation fragment
(``POST /patients/{id}/refill/preview``): the numbers of ``preview_refill``, nothing written,
the CSRF token required, bad input shown in the fragment naming the field."""

import hashlib
import re
from pathlib import Path

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select

import thecal.web
from tests.web.conftest import csrf_of, login
from thecal.api.context import AppContext
from thecal.clinic.calendar import refill_calendar
from thecal.clinic.workflows import RefillInput, RefillOutcome, preview_refill
from thecal.store.schema import AuditRow
from thecal.units import Q_, field_label, fmt

STATIC = Path(thecal.web.__file__).parent / "static"


def _due_patient(ctx: AppContext) -> str:
    """A demo patient with a refill due, on its due day (a pump, a prescription, a last fill)."""
    with ctx.uow.reader() as repo:
        e = next(e for e in refill_calendar(repo, ctx.today(), ctx.soon) if e.due)
    assert e.due is not None
    ctx.clock.now = e.due.replace(hour=8)  # type: ignore[attr-defined]
    return e.patient_id


def _expected(ctx: AppContext, pid: str, withdrawn: str, filled: str) -> RefillOutcome:
    with ctx.uow.reader() as repo:
        return preview_refill(
            repo, ctx.library, ctx.catalog, patient_id=pid,
            entry=RefillInput(Q_(withdrawn), Q_(filled), ""), at=ctx.clock(), by="t",
        )  # fmt: skip


def _written(ctx: AppContext, pid: str) -> tuple[int, int]:
    """(refills of ``pid``, audit rows): what a write would change."""
    with ctx.uow.reader() as repo:
        refills = len(repo.refills_for(pid))
    with ctx.uow.session() as s:
        audit = s.execute(select(func.count()).select_from(AuditRow)).scalar_one()
    return refills, int(audit)


def test_htmx_is_served_from_static_and_matches_the_readme(client: TestClient) -> None:
    r = client.get("/static/htmx.min.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert r.content.startswith(b"var htmx=")
    # The README names the exact file vendored: version and checksum.
    readme = (STATIC / "README.md").read_text()
    assert "htmx.org@2.0.11" in readme
    assert hashlib.sha256(r.content).hexdigest() in readme
    assert "Zero-Clause BSD" in (STATIC / "htmx-LICENSE.txt").read_text()
    assert client.get("/static/nothing-here.js").status_code == 404


def test_every_page_loads_htmx_from_this_server(client: TestClient) -> None:
    html = client.get("/login").text
    assert '<script src="/static/htmx.min.js" defer></script>' in html
    assert "unpkg" not in html and "cdn" not in html.lower()


def test_refill_form_posts_as_before_and_asks_htmx_for_the_preview(
    client: TestClient, ctx: AppContext
) -> None:
    pid = _due_patient(ctx)
    login(client, "nurse")
    html = client.get(f"/patients/{pid}/refill").text
    wrapper = re.search(r"<div [^>]*hx-post=[^>]*>\s*<form [^>]*>", html)
    assert wrapper is not None, html
    tag = wrapper.group(0)
    # Without JavaScript the form still posts the whole form to the refill route.
    assert tag.endswith(f'<form method="post" action="/patients/{pid}/refill">')
    assert f'hx-post="/patients/{pid}/refill/preview"' in tag and 'hx-include="find form"' in tag
    assert 'hx-trigger="input changed delay:400ms"' in tag
    assert 'hx-target="#calculation"' in tag and '<div id="calculation"' in html


def test_preview_fragment_shows_the_numbers_and_writes_nothing(
    client: TestClient, ctx: AppContext
) -> None:
    pid = _due_patient(ctx)
    want = _expected(ctx, pid, "3.0 mL", "20 mL")
    before = _written(ctx, pid)
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/refill")
    after_login = _written(ctx, pid)
    r = client.post(
        f"/patients/{pid}/refill/preview",
        data={"csrf": token, "step": "preview", "withdrawn": "3.0 mL", "filled": "20 mL",
              "drug_lot": ""},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert "<html" not in r.text and "<form" not in r.text  # a fragment, not a page
    expected = re.search(r'<td class="expected">([^<]*)</td>', r.text)
    discrepancy = re.search(r'<td class="discrepancy">([^<]*)</td>', r.text)
    assert expected and discrepancy, r.text
    assert expected.group(1) == str(escape(fmt(want.record.expected_remaining)))
    assert discrepancy.group(1) == str(escape(fmt(want.check.discrepancy)))
    assert want.check.discrepancy.magnitude != 0  # 3 mL withdrawn is not what was expected
    assert f"{want.forecast.refill_by:%Y-%m-%d %H:%M}" in r.text  # the next refill date
    periods = re.search(r'<td class="periods">(.*?)</td>', r.text, re.S)
    assert periods and want.periods  # which prescription ran when since the last fill
    for period in want.periods:
        assert f"prescription v{period.version}: {period.start:%Y-%m-%d %H:%M}" in periods.group(1)
    for f in want.findings:
        assert f.code.value in r.text
    assert r.headers["cache-control"] == "no-store"
    assert _written(ctx, pid) == after_login  # nothing written by the preview
    assert before[0] == after_login[0]


def test_review_step_and_fragment_share_one_calculation(
    client: TestClient, ctx: AppContext
) -> None:
    pid = _due_patient(ctx)
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/refill")
    data = {"csrf": token, "withdrawn": "2.5 mL", "filled": "20 mL", "drug_lot": "LOT-H"}
    fragment = client.post(f"/patients/{pid}/refill/preview", data=data).text
    page = client.post(f"/patients/{pid}/refill", data={**data, "step": "preview"}).text
    table = re.search(r'<table class="calculation">.*?</table>', fragment, re.S)
    assert table is not None and table.group(0) in page  # the same rows, one template
    assert "Check every number" in page and "Old vs new" in page


def test_preview_bad_input_names_the_field_with_status_200(
    client: TestClient, ctx: AppContext
) -> None:
    pid = _due_patient(ctx)
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/refill")
    url = f"/patients/{pid}/refill/preview"
    r = client.post(url, data={"csrf": token, "withdrawn": "3 mg", "filled": "20 mL"})
    assert r.status_code == 200  # htmx swaps 2xx only: the message must replace the numbers
    assert 'role="alert"' in r.text and field_label("refill.withdrawn") in r.text
    assert "calculation" not in r.text
    r = client.post(url, data={"csrf": token, "withdrawn": "3 mL", "filled": ""})
    assert r.status_code == 200 and field_label("refill.filled") in r.text and "empty" in r.text


def test_preview_without_csrf_is_refused(client: TestClient, ctx: AppContext) -> None:
    pid = _due_patient(ctx)
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/refill")
    url = f"/patients/{pid}/refill/preview"
    data = {"withdrawn": "3 mL", "filled": "20 mL"}
    before = _written(ctx, pid)
    assert client.post(url, data=data).status_code == 403
    assert client.post(url, data={**data, "csrf": token + "x"}).status_code == 403
    assert client.post(url, data={**data, "csrf": token}).status_code == 200
    assert _written(ctx, pid) == before


def test_preview_is_read_only_so_a_viewer_may_ask(client: TestClient, ctx: AppContext) -> None:
    pid = _due_patient(ctx)
    login(client, "viewer")
    token = csrf_of(client, f"/patients/{pid}/refill")
    before = _written(ctx, pid)
    r = client.post(
        f"/patients/{pid}/refill/preview",
        data={"csrf": token, "withdrawn": "3 mL", "filled": "20 mL"},
    )
    assert r.status_code == 200 and '<td class="discrepancy">' in r.text
    assert _written(ctx, pid) == before
    # Recording stays refused for the viewer.
    data = {"csrf": token, "withdrawn": "3 mL", "filled": "20 mL", "drug_lot": "L"}
    r = client.post(f"/patients/{pid}/refill", data=data)
    assert r.status_code == 403


def test_preview_needs_a_login_and_a_patient(client: TestClient, ctx: AppContext) -> None:
    pid = _due_patient(ctx)
    token = csrf_of(client)  # anonymous session
    url = f"/patients/{pid}/refill/preview"
    r = client.post(url, data={"csrf": token, "withdrawn": "3 mL", "filled": "20 mL"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/login"
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/refill")
    r = client.post("/patients/nobody/refill/preview", data={"csrf": token})
    assert r.status_code == 404
