"""One real browser on the worklist (issue 15): a demo pump's interrogation reports its
replacement indicator (imported through the clinic services) and the same patient's
stimulator reads 3.3 V (its ERI); the worklist shows the counted overdue line and an ERI line
for each device with the checklist link, the automatic prompts load after the list (htmx).
Following the stimulator's link opens the checklist with the stimulator chosen; recording it
takes off that line only; the patient page then shows the pump's, whose link chooses the
pump, and its checklist takes the last line off. axe on the worklist, the checklist and the
patient page.

Screenshots go to ``tmp_path`` (and to ``$THECAL_SCREENSHOTS`` when set, to look at them)."""

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from tests.e2e_browser.test_accessibility import _violations
from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from tests.e2e_browser.test_stimulator_browser import _shot
from tests.unit.clinic.test_interrogation_history import status
from thecal.adapters.composition import build_services
from thecal.clinic.model import Device, DeviceKind
from thecal.clinic.stimulator_model import BatteryReading, MeasurementSource
from thecal.clinic.workflows import pump_in_place
from thecal.units import Q_

__all__ = ["server"]


def _at_eri(url: str) -> str:
    """DEMO-0001's pump interrogated, reporting ERI, and an OpenNerve IPG of hers read at
    3.3 V (its ERI, "<= 3.3 V") an hour before: the patient id."""
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
        ipg = Device(pid, DeviceKind.STIMULATOR, "OpenNerve IPG", date(2020, 1, 6), "IPG-7")
        read = datetime.now() - timedelta(hours=1)
        with services.uow.transaction("nurse", read, "stimulator") as repo:
            repo.add_device(ipg)
            repo.add_battery_reading(BatteryReading(pid, ipg.id, read,
                                                    MeasurementSource.INTERROGATION,
                                                    Q_(3.3, "V")))  # fmt: skip
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
        rows = page.locator("table.worklist tr", has_text="REPLACEMENT-ERI")
        expect(rows).to_have_count(2)  # her pump and her stimulator, a line each
        row = rows.filter(has_text="stimulator OpenNerve IPG IPG-7")
        expect(row.locator(".status")).to_have_text("soft")
        expect(row.get_by_role("link", name="Run the pre-replacement checklist")).to_have_count(1)
        # The automatic prompts replace their placeholder once loaded.
        expect(page.get_by_role("link", name="Show the automatic prompts")).to_have_count(0)
        expect(page.locator("#h-automatic")).to_have_text("Automatic prompts from the record alone")
        _shot(page, tmp_path, "worklist.png")
        bad = _violations(page)
        assert not bad, json.dumps(bad, indent=1)

        # The stimulator's line opens the checklist with the stimulator chosen.
        row.get_by_role("link", name="Run the pre-replacement checklist").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Pre-replacement checklist")
        chosen = page.get_by_label("Device assessed").locator("option:checked")
        expect(chosen).to_have_text("Pulse generator — OpenNerve IPG, serial IPG-7")
        _shot(page, tmp_path, "checklist-device.png")
        bad = _violations(page)
        assert not bad, json.dumps(bad, indent=1)
        page.get_by_role("button", name="Run the rules and record").click()
        expect(page.locator("p.flash")).to_have_text("Assessment recorded.")
        page.goto(f"{server.base}/worklist")
        # The stimulator's checklist clears its own line; the pump's stays.
        expect(page.locator("table.worklist tr", has_text="REPLACEMENT-ERI")).to_have_count(1)
        expect(page.locator("table.worklist tr", has_text="REPLACEMENT-ERI")).to_contain_text(
            "(pump "
        )

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
        chosen = page.get_by_label("Device assessed").locator("option:checked")
        expect(chosen).to_contain_text("Drug pump — ")
        page.get_by_role("button", name="Run the rules and record").click()
        expect(page.locator("p.flash")).to_have_text("Assessment recorded.")

        page.goto(f"{server.base}/worklist")
        expect(page.locator("table.worklist tr", has_text="REPLACEMENT-ERI")).to_have_count(0)
        page.goto(f"{server.base}/patients/{pid}")
        expect(page.get_by_role("heading", name="Replacement to plan")).to_have_count(0)
