"""The shared design: the stylesheets, the navigation (only pages that exist) and the success
message after a write (``?saved=<key>``, only known keys, never the query's text)."""

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login, version_of
from tests.web.test_web import _due_patient
from thecal.api.context import AppContext
from thecal.web.pages_common import NAV, SAVED, saved_url


def test_every_page_links_the_vendored_styles(client: TestClient) -> None:
    login(client, "nurse")
    html = client.get("/").text
    for css in ("/static/pico.classless.min.css", "/static/thecal.css"):
        assert f'href="{css}"' in html
        r = client.get(css)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    thecal_css = client.get("/static/thecal.css").text
    for cls in (".status-hard", ".status-soft", ".status-info", ".status-ok", ".flash",
                ".unit", ".actions", "@media print"):  # fmt: skip
        assert cls in thecal_css


def test_nav_lists_only_pages_that_answer(client: TestClient) -> None:
    login(client, "nurse")
    html = client.get("/calendar").text
    nav = re.search(r'<nav aria-label="main">(.*?)</nav>', html, re.S)
    assert nav is not None
    hrefs = re.findall(r'<li><a href="([^"]+)"', nav.group(1))
    assert hrefs[:2] == ["/", "/calendar"]  # dashboard and calendar always exist
    assert set(hrefs) <= {href for _, href in NAV}
    for href in hrefs:  # a link in the nav is never a 404
        assert client.get(href).status_code == 200
    assert '<a href="/calendar" aria-current="page">Calendar</a>' in nav.group(1)


def test_no_nav_for_a_visitor_signed_out(client: TestClient) -> None:
    html = client.get("/login").text
    assert 'href="/calendar"' not in html and "Log out" not in html


def test_saved_message_only_for_known_keys(client: TestClient) -> None:
    login(client, "nurse")
    shown = client.get("/?saved=refill").text
    assert f'<p class="flash" role="status">{SAVED["refill"]}</p>' in shown
    for text in ("nope", "<script>alert(1)</script>", ""):
        html = client.get("/", params={"saved": text}).text
        assert 'class="flash"' not in html and "<script>alert" not in html


def test_saved_url_refuses_an_unknown_key() -> None:
    assert saved_url("/patients/a", "refill", "x") == "/patients/a?saved=refill#x"
    with pytest.raises(KeyError):
        saved_url("/patients/a", "no-such-message")


def test_recorded_refill_redirects_to_the_success_message(
    client: TestClient, ctx: AppContext
) -> None:
    pid, _, due = _due_patient(ctx)
    ctx.clock.now = due.replace(hour=8)  # type: ignore[attr-defined]
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/refill")
    form = {"csrf": token, "withdrawn": "3 mL", "filled": "20 mL", "drug_lot": "LOT-FLASH"}
    r = client.post(f"/patients/{pid}/refill", data={**form, "step": "preview"})
    assert r.status_code == 200
    reasons = dict.fromkeys(re.findall(r'name="(reason:[^"]+)"', r.text), "test reason")
    r = client.post(f"/patients/{pid}/refill", follow_redirects=False,
                    data={**form, **reasons, **version_of(r.text), "step": "confirm"})  # fmt: skip
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/patients/{pid}?saved=refill"
    page = client.get(r.headers["location"]).text
    assert 'role="status">Refill recorded.' in page
