"""One real browser on the worklist (issue 15): a demo pump's interrogation reports its
replacement indicator (imported through the clinic services); the worklist shows the counted
overdue line and the ERI line with the checklist link, the automatic prompts load after the
list (htmx), the patient page shows the replacement to plan; following the link and recording
the checklist takes the line off. axe on the worklist and the patient page.

Screenshots go to ``tmp_path`` (and to ``$THECAL_SCREENSHOTS`` when set, to look at them)."""

import json
from datetime import datetime
from pathlib import Path

from tests.e2e_browser.test_accessibility import _violations
from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from tests.e2e_browser.test_stimulator_browser import _shot
from tests.unit.clinic.test_interrogation_history import status
from thecal.adapters.composition import build_services
from thecal.clinic.workflows import pump_in_place

__all__ = ["server"]


def _at_eri(url: str) -> str:
    """DEMO-0001's pump interrogated, reporting ERI: the patient id."""
    services = build_services(url, clock=datetime.now, migrate=False)
    try:
        with services.uow.reader() as repo:
            pid = next(p.id for p in repo.list_patients() if p.mrn == "DEMO-0001")
            pump = pump_in_place(repo, pid)
            nurse = repo.user_by_name("nurse")
        assert pump is not None and nurse is not None
        snap = {**status(pump.serial, 19.5, []), "eri_at": "2024-03-02T08:00:00"}
        services.import_interrogation(actor=nurse, patient_id=pid, serial=pump.serial,
                                      status=snap, log=[])  # fmt: skip
        return pid
    finally:
        services.uow.engine.dispose()


def test_worklist_and_replacement_checklist_in_chromium(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    pid = _at_eri(server.url)
    with chromium_page() as page:
        page.goto(f"{server.base}/login")
        page.locator("input[name=username]").fill("nurse")
        page.locator("input[name=password]").fill("demo-nurse")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{server.base}/")

        page.goto(f"{server.base}/worklist")
        row = page.locator("table.worklist tr", has_text="REPLACEMENT-ERI")
        expect(row.locator(".status")).to_have_text("soft")
        expect(row.get_by_role("link", name="Run the pre-replacement checklist")).to_have_count(1)
        # The automatic prompts replace their placeholder once loaded.
        expect(page.get_by_role("link", name="Show the automatic prompts")).to_have_count(0)
        expect(page.locator("#h-automatic")).to_have_text("Automatic prompts from the record alone")
        _shot(page, tmp_path, "worklist.png")
        bad = _violations(page)
        assert not bad, json.dumps(bad, indent=1)

        page.goto(f"{server.base}/patients/{pid}")
        section = page.locator(
            "section", has=page.get_by_role("heading", name="Replacement to plan")
        )
        expect(section).to_contain_text("Battery at ERI")
        _shot(page, tmp_path, "patient-replacement.png")
        bad = _violations(page)
        assert not bad, json.dumps(bad, indent=1)
        section.get_by_role("link", name="Run the pre-replacement checklist").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Pre-replacement checklist")
        page.get_by_role("button", name="Run the rules and record").click()
        expect(page.locator("p.flash")).to_have_text("Assessment recorded.")

        page.goto(f"{server.base}/worklist")
        expect(page.locator("table.worklist tr", has_text="REPLACEMENT-ERI")).to_have_count(0)
        page.goto(f"{server.base}/patients/{pid}")
        expect(page.get_by_role("heading", name="Replacement to plan")).to_have_count(0)
