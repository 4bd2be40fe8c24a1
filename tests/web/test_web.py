"""The web app end to end on an SQLite file: login, CSRF, roles, dashboard, refill form."""

import re
from datetime import datetime

from fastapi.testclient import TestClient
from markupsafe import escape

from tests.web.conftest import csrf_of, login, version_of
from thecal import NOT_A_MEDICAL_DEVICE as RAW_NOTICE
from thecal.api.context import AppContext
from thecal.clinic.calendar import refill_calendar
from thecal.clinic.workflows import RefillInput, preview_refill
from thecal.units import Q_

NOT_A_MEDICAL_DEVICE = str(escape(RAW_NOTICE))


def test_login_success_and_failure(client: TestClient) -> None:
    token = csrf_of(client)
    r = client.post("/login", data={"username": "nurse", "password": "wrong", "csrf": token})
    assert r.status_code == 401 and "wrong username or password" in r.text
    login(client, "nurse")
    assert "Demo Nurse" in client.get("/").text
    cookie = client.cookies.jar
    assert any(c.name == "thecal_session" and c.has_nonstandard_attr("HttpOnly") for c in cookie)


def test_csrf_refused_without_token(client: TestClient) -> None:
    client.get("/login")
    r = client.post("/login", data={"username": "nurse", "password": "demo-nurse"})
    assert r.status_code == 403


def test_anonymous_is_sent_to_login(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_footer_notice_on_every_page(client: TestClient) -> None:
    assert NOT_A_MEDICAL_DEVICE in client.get("/login").text
    login(client, "viewer")
    html = client.get("/").text
    assert NOT_A_MEDICAL_DEVICE in html
    pid = re.search(r'href="/patients/([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]
    assert NOT_A_MEDICAL_DEVICE in client.get(f"/patients/{pid}").text


def _due_patient(ctx: AppContext) -> tuple[str, str, datetime]:
    with ctx.uow.reader() as repo:
        e = next(e for e in refill_calendar(repo, ctx.today(), ctx.soon) if e.due)
    assert e.due is not None
    return e.patient_id, e.mrn, e.due


def test_dashboard_shows_a_due_refill(client: TestClient, ctx: AppContext) -> None:
    _pid, mrn, due = _due_patient(ctx)
    ctx.clock.now = due.replace(hour=8)  # type: ignore[attr-defined]  # the due day
    login(client, "viewer")
    html = client.get("/").text
    row = re.search(rf'<tr class="due">.*?{mrn}', html, re.S)
    assert row is not None, html


def test_viewer_cannot_record_a_refill(client: TestClient, ctx: AppContext) -> None:
    pid, _, _ = _due_patient(ctx)
    login(client, "viewer")
    token = csrf_of(client, f"/patients/{pid}")
    r = client.post(
        f"/patients/{pid}/refill",
        data={"csrf": token, "withdrawn": "1 mL", "filled": "20 mL", "drug_lot": "L"},
    )
    assert r.status_code == 403


def test_refill_form_preview_confirm_then_next_date_shows(
    client: TestClient, ctx: AppContext
) -> None:
    pid, _, due = _due_patient(ctx)
    ctx.clock.now = due.replace(hour=8)  # type: ignore[attr-defined]
    with ctx.uow.reader() as repo:
        expected = preview_refill(
            repo,
            ctx.library,
            ctx.catalog,
            patient_id=pid,
            entry=RefillInput(Q_(0, "mL"), Q_(20, "mL"), "p"),
            at=ctx.clock(),
            by="t",
        ).record.expected_remaining
    withdrawn = f"{expected.to('mL').magnitude:.2f} mL"  # no discrepancy
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/refill")
    form = {"csrf": token, "withdrawn": withdrawn, "filled": "20 mL", "drug_lot": "LOT-T1"}
    r = client.post(f"/patients/{pid}/refill", data={**form, "step": "preview"})
    assert r.status_code == 200 and "Old vs new" in r.text and "discrepancy" in r.text
    reasons = dict.fromkeys(re.findall(r'name="(reason:[^"]+)"', r.text), "test reason")
    r = client.post(
        f"/patients/{pid}/refill",
        data={**form, **reasons, **version_of(r.text), "step": "confirm"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(f"/patients/{pid}").text
    with ctx.uow.reader() as repo:
        last = repo.refills_for(pid)[-1]
    assert last.drug_lot == "LOT-T1" and last.by == "nurse" and last.refill_by is not None
    assert f"{last.refill_by:%Y-%m-%d %H:%M}" in page  # the next refill date appears
    assert ctx.uow.verify_audit().ok
