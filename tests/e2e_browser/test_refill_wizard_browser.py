"""One real browser through the refill wizard: ``thecal serve`` (the fixtures of
test_refill_browser) with DEMO-0001's pump served as a virtual implant on 127.0.0.1 and its
link registered in the clinic database by the physician. The physician interrogates,
withdraws, enters the lot, fills, reviews the findings with reasons, confirms (the refill goes
over the link and is read back before it is recorded) and reaches the printable session
record.

Screenshots go to ``tmp_path`` (and to ``$THECAL_SCREENSHOTS`` when set, to look at them)."""

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from tests.e2e_browser.test_stimulator_browser import _shot
from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.implant_server import DeviceInputs, implant_from_plan, make_server
from thecal.clinic.implant_links import register_link
from thecal.clinic.workflows import current_prescription, pump_in_place
from thecal.link.keystore import provision_implant, role_credential
from thecal.link.roles import Role
from thecal.link.transport import TcpListener
from thecal.store.database import make_engine
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_

__all__ = ["server"]


@pytest.fixture
def linked(server: Server, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """DEMO-0001's pump served on an ephemeral port, its link registered in the database."""
    library, catalog = load_library(), load_catalog()
    engine = make_engine(server.url)
    uow = SqlUnitOfWork(engine)
    with uow.reader() as repo:
        p = next(p for p in repo.list_patients() if p.mrn == "DEMO-0001")
        pump, rx = pump_in_place(repo, p.id), current_prescription(repo, p.id)
        physician = repo.user_by_name("physician")
    assert pump is not None and rx is not None and physician is not None
    secret = provision_implant(tmp_path / "implant.key", pump.serial)
    # Test inputs (not public): the alarm repeats of DEMO-0001's Prometra II.
    inputs = DeviceInputs(pump.serial, Q_(10, "min"), None, Q_(60, "min"))
    implant = implant_from_plan(rx.plan().to_typed(), library, catalog, inputs)
    srv = make_server(implant, library, secret.key, Q_(60, "s"))
    listener = TcpListener(0)
    thread = threading.Thread(target=srv.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    key = role_credential(secret, Role.CLINICIAN)
    register_link(uow, datetime.now, actor=physician, serial=pump.serial,
                  address=f"127.0.0.1:{listener.port}", key=key.key, key_id="sha256:test",
                  key_serial=pump.serial,
                  reason="virtual implant (browser test)")  # fmt: skip
    try:
        yield server, p.id
    finally:
        srv.stop.set()
        thread.join(timeout=5)
        listener.close()
        engine.dispose()


def test_refill_wizard_in_chromium(linked: tuple[Server, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    served, pid = linked
    with chromium_page() as page:
        page.goto(f"{served.base}/login")
        page.locator("input[name=username]").fill("physician")
        page.locator("input[name=password]").fill("demo-physician")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{served.base}/")

        page.goto(f"{served.base}/patients/{pid}/refill-wizard")
        expect(page.locator("main")).to_contain_text("reachable over its link")
        _shot(page, tmp_path, "wizard-1-interrogate.png")
        page.get_by_role("button", name="Interrogate").click()
        expect(page.locator("main")).to_contain_text("What the pump said")
        _shot(page, tmp_path, "wizard-2-withdraw.png")
        page.get_by_label("Withdrawn from the reservoir").fill("0 mL")
        page.get_by_role("button", name="Next: check the residual").click()
        expect(page.locator("main")).to_contain_text("discrepancy (withdrawn − expected)")
        _shot(page, tmp_path, "wizard-3-drug.png")
        page.get_by_label("Drug lot (on the vial)").fill("LOT-B1")
        page.get_by_role("button", name="Next: fill").click()
        _shot(page, tmp_path, "wizard-4-fill.png")
        page.get_by_label("Filled into the reservoir").fill("20 mL")
        page.get_by_role("button", name="Next: review").click()
        expect(page.locator("main")).to_contain_text("Review and confirm")
        for box in page.locator("input[name^='reason:']").all():
            box.fill("restart after the pump ran dry, decided in clinic (test)")
        _shot(page, tmp_path, "wizard-5-review.png")
        page.get_by_role("button", name="Confirm: send to the pump, verify, record").click()
        expect(page.locator("main")).to_contain_text("Refill sent to the pump, read back and "
                                                     "recorded")  # fmt: skip
        expect(page.get_by_role("button", name="Print")).to_be_visible()
        expect(page.locator("main")).to_contain_text("LOT-B1")
        expect(page.locator("main")).to_contain_text("Reasons given to the pump")
        _shot(page, tmp_path, "wizard-6-session-record.png")
        page.emulate_media(media="print")
        expect(page.get_by_role("button", name="Print")).to_be_hidden()
        _shot(page, tmp_path, "wizard-7-session-record-print.png")
