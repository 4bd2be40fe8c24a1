"""The first prescription form in Chromium (issue 13), with axe-core on each of its states: a
patient registered with a pump and no catheter record (so the form asks the catheter volume),
the form, a refused value shown again with the field named (422), the preview with its
findings, then stored. The accessibility crawl (test_accessibility.py) signs in as a nurse,
who gets no first-prescription form, and its seed patients all have prescriptions: this test
covers these pages. Screenshots as in test_clinic_workflow_browser.py."""

import json
from datetime import date
from pathlib import Path

from tests.e2e_browser.test_accessibility import _violations
from tests.e2e_browser.test_clinic_workflow_browser import _login
from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from tests.e2e_browser.test_stimulator_browser import _shot
from thecal.units import field_label

__all__ = ["server"]


def test_first_prescription_form_in_chromium(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    base = server.base
    found: dict[str, object] = {}
    with chromium_page() as page:
        _login(page, base, "physician")
        page.goto(f"{base}/patients/new")
        page.get_by_label("Record number (MRN)").fill("E2E-FIRST-1")
        page.get_by_label("Name").fill("Synthetic First")
        page.get_by_label("Date of birth").fill("1958-04-05")
        page.get_by_label("Sex").select_option("male")
        page.get_by_role("button", name="Register patient").click()
        pid = page.url.split("/patients/")[1].split("/")[0]
        page.get_by_role("link", name="Add device / procedure").click()
        page.get_by_label("Date", exact=True).fill(date.today().isoformat())
        page.get_by_label("Kind").select_option("pump")
        page.get_by_label("Model (from the device catalog)").fill("Prometra II 20 mL")
        page.get_by_label("Serial").fill("E2E-FIRST-PUMP")
        page.get_by_label("Pocket side (pump, stimulator)").select_option("left")
        page.get_by_role("button", name="Record procedure").click()
        expect(page.get_by_role("status")).to_contain_text("Procedure recorded.")

        page.goto(f"{base}/patients/{pid}/program")
        expect(page.get_by_role("heading", level=1)).to_contain_text("First prescription")
        found["form"] = _violations(page)
        _shot(page, tmp_path, "fp-01-form.png")
        # Illustrative: baclofen 500 mcg/mL at 100 mcg/d = 0.2 mL/d; 20 mL filled.
        page.get_by_label("Drug 1", exact=True).select_option("baclofen")
        page.get_by_label("Drug 1 concentration").fill("500 mcg/mL")
        page.get_by_label("Continuous: daily dose of drug 1").fill("100 mcg")  # no time base
        page.get_by_label("Catheter volume").fill("0.2 mL")
        page.get_by_label("Volume filled into the new pump").fill("20 mL")
        page.get_by_label("Reason for the prescription").fill("first prescription (e2e)")
        page.get_by_role("button", name="Check").click()
        expect(page.locator("main")).to_contain_text(field_label("schedule.dose"))
        expect(page.get_by_label("Drug 1 concentration")).to_have_value("500 mcg/mL")
        found["refused"] = _violations(page)
        _shot(page, tmp_path, "fp-02-refused.png")

        page.get_by_label("Continuous: daily dose of drug 1").fill("100 mcg/d")
        page.get_by_role("button", name="Check").click()
        expect(page.get_by_role("heading", name="Findings")).to_be_visible()
        expect(page.locator("main")).to_contain_text("0.2 mL/d")  # 100 mcg/d / 500 mcg/mL
        for box in page.locator("input[name^='reason:']").all():
            box.fill("decided in clinic (e2e)")
        found["preview"] = _violations(page)
        _shot(page, tmp_path, "fp-03-preview.png")
        page.get_by_role("button", name="Confirm and store the program (record only)").click()
        expect(page.get_by_role("status")).to_contain_text("the pump was NOT programmed")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Program change")
    assert not any(found.values()), json.dumps(found, indent=1)
