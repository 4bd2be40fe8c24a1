"""The refill form's live calculation in a real Chromium against ``thecal serve``: htmx loads
from /static, typing the withdrawn volume brings the discrepancy without submitting the form,
and nothing is recorded. Same server fixture and browser rules as test_refill_browser.py."""

from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from thecal.store.database import make_engine
from thecal.store.uow import SqlUnitOfWork

__all__ = ["server"]  # the fixture, imported for pytest


def _refills(url: str, patient_id: str) -> int:
    engine = make_engine(url)
    try:
        with SqlUnitOfWork(engine).reader() as repo:
            return len(repo.refills_for(patient_id))
    finally:
        engine.dispose()


def test_typing_the_withdrawn_volume_shows_the_discrepancy_live(server: Server) -> None:
    from playwright.sync_api import expect

    with chromium_page() as page:
        scripts: list[str] = []
        page.on("response", lambda r: scripts.append(r.url) if r.url.endswith(".js") else None)
        page.goto(f"{server.base}/login")
        page.locator("input[name=username]").fill("nurse")
        page.locator("input[name=password]").fill("demo-nurse")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{server.base}/")

        link = page.locator("tr.overdue, tr.due").first.locator("a[href^='/patients/']")
        href = link.get_attribute("href")
        assert href is not None
        patient_id = href.rsplit("/", 1)[1]
        before = _refills(server.url, patient_id)
        page.goto(f"{server.base}{href}/refill")
        assert page.evaluate("typeof htmx") == "object"  # it started
        assert set(scripts) == {f"{server.base}/static/htmx.min.js"}  # this server, no CDN

        calculation = page.locator("#calculation")
        expect(calculation).to_be_empty()
        page.locator("input[name=filled]").fill("20 mL")
        page.locator("input[name=withdrawn]").press_sequentially("3.0 mL", delay=30)
        discrepancy = calculation.locator("td.discrepancy")
        expect(discrepancy).to_contain_text("mL")
        expect(calculation.locator("td.expected")).to_contain_text("mL")
        expect(calculation).to_contain_text("Preview only")
        expect(page).to_have_url(f"{server.base}{href}/refill")  # the form was not sent

        # A unit that is not a volume: the message names the field in words, in place.
        page.locator("input[name=withdrawn]").fill("3 mg")
        expect(calculation.get_by_role("alert")).to_contain_text("Refill withdrawn:")
        expect(discrepancy).to_have_count(0)
        assert _refills(server.url, patient_id) == before  # the preview recorded nothing
