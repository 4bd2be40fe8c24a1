"""One real browser on reconciliation and alarms: Debian's Chromium headless against
``thecal serve`` (the fixtures of test_refill_browser). A snapshot with a critical alarm and a
reservoir far from the record is imported for a demo patient through the clinic services; the
nurse sees the reconciliation on the stored interrogation's page, then acknowledges and
resolves the alarm on the alarms page; a viewer sees no button.

Screenshots go to ``tmp_path`` (and to ``$THECAL_SCREENSHOTS`` when set, to look at them)."""

from datetime import datetime
from pathlib import Path

from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from tests.e2e_browser.test_stimulator_browser import _shot
from tests.unit.clinic.test_interrogation_history import status
from thecal.adapters.composition import build_services
from thecal.clinic.workflows import pump_in_place

__all__ = ["server"]

STALL = {"name": "MOTOR_STALL", "critical": True, "raised_at": "2024-03-01T07:00:00",
         "acknowledged": False, "resolved": False}  # fmt: skip


def _imported(url: str) -> tuple[str, str]:
    """DEMO-0001 interrogated (a snapshot imported): (patient id, interrogation id)."""
    services = build_services(url, clock=datetime.now, migrate=False)
    try:
        with services.uow.reader() as repo:
            pid = next(p.id for p in repo.list_patients() if p.mrn == "DEMO-0001")
            pump = pump_in_place(repo, pid)
            nurse = repo.user_by_name("nurse")
        assert pump is not None and nurse is not None
        stored = services.import_interrogation(
            actor=nurse, patient_id=pid, serial=pump.serial,
            status=status(pump.serial, 19.5, [STALL]), log=[],
        )  # fmt: skip
        return pid, stored.id
    finally:
        services.uow.engine.dispose()


def test_reconciliation_and_alarms_in_chromium(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    pid, iid = _imported(server.url)
    with chromium_page() as page:
        page.goto(f"{server.base}/login")
        page.locator("input[name=username]").fill("nurse")
        page.locator("input[name=password]").fill("demo-nurse")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{server.base}/")

        page.goto(f"{server.base}/patients/{pid}/interrogations/{iid}")
        heading = page.get_by_role("heading", name="Reconciliation with the record")
        section = page.locator("section", has=heading)
        expect(section.locator(".status-hard").first).to_have_text("hard")
        expect(section).to_contain_text("IMPLANT-ALARM")
        _shot(page, tmp_path, "reconciliation.png")

        page.goto(f"{server.base}/alarms")
        row = page.locator("tr", has_text="MOTOR_STALL")
        expect(row.locator(".status")).to_have_text("critical")
        row.get_by_role("button", name="Acknowledge").click()
        expect(page.locator(".flash")).to_have_text("Alarm acknowledged.")
        row = page.locator("tr", has_text="MOTOR_STALL")
        expect(row).to_contain_text("by nurse")
        row.get_by_label("Why resolved").fill("pump checked, stall cleared")
        _shot(page, tmp_path, "alarms.png")
        row.get_by_role("button", name="Resolve").click()
        expect(page.locator(".flash")).to_have_text("Alarm resolved.")
        expect(page.locator("tr", has_text="MOTOR_STALL")).to_have_count(0)

        page.goto(f"{server.base}/alarms?patient={pid}")
        expect(page.locator("tr", has_text="MOTOR_STALL")).to_contain_text(
            "by nurse: pump checked, stall cleared")  # fmt: skip
        _shot(page, tmp_path, "alarms-patient.png")

        page.get_by_role("button", name="log out").click()
        page.goto(f"{server.base}/login")
        page.locator("input[name=username]").fill("viewer")
        page.locator("input[name=password]").fill("demo-viewer")
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{server.base}/alarms?patient={pid}")
        expect(page.get_by_role("button", name="Resolve")).to_have_count(0)
