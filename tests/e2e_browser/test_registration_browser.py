"""One real browser on the registration pages (Debian's Chromium headless against ``thecal
serve``, the fixtures of test_refill_browser): a nurse registers a patient (a refused date of
birth first, naming the field), adds a pump and catheter, and a viewer sees no write button.

Screenshots go to ``tmp_path`` (and to ``$THECAL_SCREENSHOTS`` when set, to look at them)."""

from datetime import date, timedelta
from pathlib import Path

from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from tests.e2e_browser.test_stimulator_browser import _shot

__all__ = ["server"]


def _login(page, base: str, who: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.locator("input[name=username]").fill(who)
    page.locator("input[name=password]").fill(f"demo-{who}")
    page.get_by_role("button", name="Log in").click()


def test_registration_pages_in_chromium(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with chromium_page() as page:
        _login(page, server.base, "nurse")
        page.goto(f"{server.base}/patients?q=seed")
        expect(page.get_by_role("heading", name="Patients")).to_be_visible()
        _shot(page, tmp_path, "registration-patients.png")

        page.get_by_role("link", name="New patient").click()
        page.get_by_label("Record number (MRN)").fill("BROWSER-1")
        page.get_by_label("Name").fill("Synthetic Browser")
        tomorrow = date.today() + timedelta(days=1)
        page.get_by_label("Date of birth").fill(tomorrow.isoformat())
        page.get_by_label("Sex").select_option("male")
        page.get_by_label("Chronic kidney disease").check()
        page.get_by_label("stage (KDIGO)").select_option("G3b")
        page.get_by_label("Diabetes").check()
        _shot(page, tmp_path, "registration-patient-new.png")
        page.get_by_role("button", name="Register patient").click()
        expect(page.get_by_role("alert")).to_contain_text("Patient date of birth:")  # in words
        _shot(page, tmp_path, "registration-patient-new-422.png")

        page.get_by_label("Date of birth").fill("1958-04-09")
        page.get_by_role("button", name="Register patient").click()
        expect(page.get_by_role("status")).to_contain_text("Patient registered.")
        expect(page.get_by_text("ckd:G3b; diabetes")).to_be_visible()

        page.get_by_role("link", name="Edit registration").click()
        page.get_by_label("Contact (optional)").fill("ward 3")
        _shot(page, tmp_path, "registration-patient-edit.png")
        page.get_by_role("button", name="Save registration").click()
        expect(page.get_by_role("status")).to_contain_text("Registration saved.")

        page.get_by_role("link", name="Add device / procedure").click()
        page.get_by_label("Date", exact=True).fill(date.today().isoformat())
        page.get_by_label("Kind").select_option("pump")
        page.get_by_label("Model (from the device catalog)").fill("SynchroMed II 8637-20")
        page.get_by_label("Serial").fill("NGP-1")
        page.get_by_label("Pocket side (pump, stimulator)").select_option("left")
        _shot(page, tmp_path, "registration-device-new.png")
        page.get_by_role("button", name="Record procedure").click()
        expect(page.get_by_role("status")).to_contain_text("Procedure recorded.")
        expect(page.get_by_text("left pocket")).to_be_visible()
        _shot(page, tmp_path, "registration-patient.png")

        page.get_by_role("link", name="Add complication").click()
        expect(page.get_by_role("heading", name="Add complication")).to_be_visible()
        _shot(page, tmp_path, "registration-complication-new.png")

    with chromium_page() as page:
        _login(page, server.base, "viewer")
        page.goto(f"{server.base}/patients?q=browser")
        expect(page.get_by_text("Synthetic Browser")).to_be_visible()
        expect(page.get_by_role("link", name="New patient")).to_have_count(0)
        _shot(page, tmp_path, "registration-patients-viewer.png")
