"""A nurse records the seed 003 case 2 presentation (new weakness, urinary retention,
paraesthesia and back pain days after an implant, interrogation normal; cancer ticked, as the
demo record codes no diagnosis) on the demo patient SEED-003-2 in Chromium, and sees urgent
imaging within 24 h, epidural metastasis and a catheter-tip mass on the result page, and
within 24 h on the patient page and the worklist; the result page passes axe (as
tests/e2e_browser/test_accessibility.py)."""

import json
import os
from pathlib import Path

from tests.e2e_browser.test_accessibility import SHOTS_ENV, _violations
from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from thecal.store.database import make_engine
from thecal.store.uow import SqlUnitOfWork

__all__ = ["server"]  # the fixture, imported for pytest


def _demo_patient(url: str) -> str:
    engine = make_engine(url)
    try:
        with SqlUnitOfWork(engine).reader() as repo:
            return next(p.id for p in repo.list_patients() if p.mrn == "SEED-003-2")
    finally:
        engine.dispose()


def test_nurse_records_seed_003_case_2_and_sees_within_24h(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    pid = _demo_patient(server.url)
    shots = Path(os.environ.get(SHOTS_ENV) or tmp_path)
    with chromium_page() as page:
        page.goto(f"{server.base}/login")
        page.locator("input[name=username]").fill("nurse")
        page.locator("input[name=password]").fill("demo-nurse")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{server.base}/")
        page.goto(f"{server.base}/patients/{pid}")
        page.get_by_role("link", name="New assessment").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("New assessment")
        page.get_by_label("Interrogation today").select_option("normal")
        for kind, days in (("weakness", "2"), ("bladder", "2"), ("sensory change", "3"),
                           ("pain", "4")):  # fmt: skip
            page.get_by_label(kind, exact=True).check()
            page.get_by_label(f"{kind}: began how long ago").fill(days)
        page.get_by_label("progressive weakness").check()
        page.get_by_label("Pain: where").select_option("back")
        page.get_by_label("cancer", exact=True).check()  # not coded in the demo record
        page.get_by_role("button", name="Run the rules and record").click()
        expect(page.locator("p.flash")).to_have_text("Assessment recorded.")
        expect(page.locator("dd.urgency .status")).to_have_text("within 24 h")
        expect(page.locator("main")).to_contain_text("never diagnoses")
        expect(page.locator("main")).to_contain_text("MRI")
        expect(page.locator("main")).to_contain_text("Epidural metastasis")
        expect(page.locator("main")).to_contain_text("Catheter-tip inflammatory mass")
        page.screenshot(path=str(shots / "assessment-result.png"), full_page=True)
        bad = _violations(page)
        assert not bad, json.dumps(bad, indent=1)
        page.goto(f"{server.base}/patients/{pid}")
        expect(page.locator("table.assessments .status").first).to_have_text("within 24 h")
        page.goto(f"{server.base}/worklist")
        expect(page.locator("main")).to_contain_text("urgency within 24 h")
        page.screenshot(path=str(shots / "assessment-worklist.png"), full_page=True)
