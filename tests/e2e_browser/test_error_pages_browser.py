"""The web app's error pages in a real Chromium against ``thecal serve``: an unknown patient
(404) and a refill form sent with a forged CSRF token (403) each show a page — the heading,
the reason, a way back and the "not a certified medical device" banner — not raw JSON. Same
server fixture and browser rules as test_refill_browser.py; a screenshot of each page is kept
in the test's temporary directory for a person to look at."""

import os
from pathlib import Path

from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from thecal import NOT_A_MEDICAL_DEVICE

__all__ = ["server"]  # the fixture, imported for pytest

SHOTS_ENV = "THECAL_SCREENSHOTS"  # a directory to keep the screenshots in (default: tmp_path)


def test_404_and_403_are_html_pages_with_the_banner(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shots = Path(os.environ.get(SHOTS_ENV) or tmp_path)
    with chromium_page() as page:
        page.goto(f"{server.base}/login")
        page.locator("input[name=username]").fill("nurse")
        page.locator("input[name=password]").fill("demo-nurse")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{server.base}/")

        # 404: a patient that does not exist.
        answer = page.goto(f"{server.base}/patients/{'0' * 32}")
        assert answer is not None and answer.status == 404
        assert answer.headers["content-type"].startswith("text/html")
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect(page.get_by_text("no such patient")).to_be_visible()
        expect(page.get_by_text(NOT_A_MEDICAL_DEVICE)).to_be_visible()
        page.screenshot(path=str(shots / "error-404.png"), full_page=True)
        page.get_by_role("link", name="Back to the dashboard").click()
        expect(page).to_have_url(f"{server.base}/")

        # 403: the refill form sent with a token that is not the session's.
        link = page.locator("a[href^='/patients/']").first
        page.goto(f"{server.base}{link.get_attribute('href')}/refill")
        form = page.locator("form:has(input[name=withdrawn])")
        form.locator("input[name=csrf]").evaluate("e => e.value = 'forged'")
        page.locator("input[name=withdrawn]").fill("3.0 mL")
        page.locator("input[name=filled]").fill("20 mL")
        page.locator("input[name=drug_lot]").fill("LOT-E2E-403")
        with page.expect_response(
            lambda r: r.url.endswith("/refill") and r.request.method == "POST"
        ) as sent:
            page.get_by_role("button", name="Calculate").click()
        assert sent.value.status == 403
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(page.get_by_text("missing or wrong CSRF token")).to_be_visible()
        expect(page.get_by_text(NOT_A_MEDICAL_DEVICE)).to_be_visible()
        page.screenshot(path=str(shots / "error-403.png"), full_page=True)

        # 422: a page's query the route refuses (a negative row offset).
        answer = page.goto(f"{server.base}/calendar?offset=-1")
        assert answer is not None and answer.status == 422
        expect(page.get_by_role("heading", name="Cannot use this input")).to_be_visible()
        expect(page.get_by_text(NOT_A_MEDICAL_DEVICE)).to_be_visible()
        page.screenshot(path=str(shots / "error-422.png"), full_page=True)

        # Signed out, an unknown address is a page too (with a way to log in).
        page.get_by_role("button", name="log out").click()
        answer = page.goto(f"{server.base}/no-such-page")
        assert answer is not None and answer.status == 404
        expect(page.get_by_text("there is no page at this address")).to_be_visible()
        expect(page.get_by_role("link", name="log in")).to_be_visible()
        page.screenshot(path=str(shots / "error-404-anonymous.png"), full_page=True)
