"""One real browser on the stimulator pages: Debian's Chromium headless against ``thecal serve``
(the fixtures of test_refill_browser): the dialysis patient's page shows her stimulator, its
impedance chart renders, and a physician stores a lower amplitude through the gate.

Screenshots go to ``tmp_path`` (and to ``$THECAL_SCREENSHOTS`` when set, to look at them)."""

import os
import shutil
from pathlib import Path

from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from thecal.store.database import make_engine
from thecal.store.uow import SqlUnitOfWork

__all__ = ["server"]


def _shot(page, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank frame
    keep = os.environ.get("THECAL_SCREENSHOTS")
    if keep:
        shutil.copy(path, Path(keep) / name)


def test_stimulator_pages_in_chromium(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    engine = make_engine(server.url)
    try:
        with SqlUnitOfWork(engine).reader() as repo:
            ids = {p.mrn: p.id for p in repo.list_patients()}
    finally:
        engine.dispose()
    with chromium_page() as page:
        page.goto(f"{server.base}/login")
        page.locator("input[name=username]").fill("physician")
        page.locator("input[name=password]").fill("demo-physician")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{server.base}/")

        # Pump and stimulator on one page (the calcified-pocket case).
        page.goto(f"{server.base}/patients/{ids['SEED-000']}")
        expect(page.locator("section.stimulator")).to_have_count(2)
        expect(page.get_by_text("Refill history")).to_be_visible()
        _shot(page, tmp_path, "stimulator-seed000-patient.png")

        # The dialysis patient: the stimulator in place, its chart drawn (an SVG that loaded).
        page.goto(f"{server.base}/patients/{ids['SEED-001']}")
        current = page.locator("section.stimulator").first
        expect(current).to_contain_text("Medtronic primary-cell SCS IPG")
        expect(current.locator("table.contact-charges")).to_be_visible()
        chart = current.locator("img[src$='impedance.svg']")
        expect(chart).to_be_visible()
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
        expect(current.locator("ul.stim-findings")).to_contain_text("STIM-IMPEDANCE-RISING")
        _shot(page, tmp_path, "stimulator-seed001-patient.png")

        # The program page: lower the amplitude (and the patient's top) from 3.5 to 3 mA.
        current.get_by_role("link", name="Versions and change").click()
        text = page.locator("textarea[name=program_json]")
        text.fill(text.input_value().replace('"3.5 mA"', '"3 mA"'))
        page.locator("input[name=reason]").fill("e2e: less paresthesia")
        page.get_by_role("button", name="Check").click()
        expect(page.get_by_text("Proposed program: findings")).to_be_visible()
        proposed = page.locator("table.contact-charges").last
        expect(proposed).to_contain_text("3 mA")
        expect(proposed).not_to_contain_text("3.5 mA")
        _shot(page, tmp_path, "stimulator-program-check.png")
        reasons = page.locator("input[name^='reason:']")
        for i in range(reasons.count()):
            reasons.nth(i).fill("e2e browser test")
        page.get_by_role("button", name="Confirm and store version 2").click()
        expect(page.locator("table.stim-versions tr")).to_have_count(3)  # header + 2 versions
        expect(page.locator("table.stim-versions")).to_contain_text("e2e: less paresthesia")
        _shot(page, tmp_path, "stimulator-program-versions.png")
