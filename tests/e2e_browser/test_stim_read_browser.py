"""One real browser on the stimulator measurement forms: Debian's Chromium headless against
``thecal serve`` (the fixtures of test_refill_browser) with ``THECAL_IMPLANTS_FILE`` naming a
virtual IPG served on 127.0.0.1 under the demo stimulator's serial. A nurse reads impedances
and the battery over the link, types in a set and a battery reading, and sees a bad value
named by its field.

Screenshots go to ``tmp_path`` (and to ``$THECAL_SCREENSHOTS`` when set, to look at them)."""

import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from tests.e2e_browser.test_stimulator_browser import _shot
from thecal.adapters.stimulator_server import make_stimulator_server, stimulator_from_scenario
from thecal.link.keystore import export_role_credential, provision_implant
from thecal.link.roles import Role
from thecal.link.transport import TcpListener
from thecal.store.database import make_engine
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_

__all__ = ["server"]

SERIAL = "DEMO-S1"  # the demo clinic's stimulator in place for SEED-000
SCENARIO = "rechargeable-stops-charging.toml"


@pytest.fixture
def ipg_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A virtual IPG named SERIAL on an ephemeral port, and the implants file naming it (set
    in the environment before ``thecal serve`` starts)."""
    secret = provision_implant(tmp_path / "implant.key", SERIAL)
    export_role_credential(secret, Role.CLINICIAN, tmp_path / "clinician.key")
    source = Path(str(resources.files("thecal.data").joinpath("scenarios", "stimulator",
                                                               SCENARIO)))  # fmt: skip
    srv = make_stimulator_server(
        stimulator_from_scenario(source, SERIAL), secret.key, Q_(60, "s")
    )  # fmt: skip  (test input: staleness)
    listener = TcpListener(0)
    thread = threading.Thread(target=srv.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    implants = tmp_path / "implants.toml"
    implants.write_text(f'[implants."{SERIAL}"]\nport = {listener.port}\n'
                        'key = "clinician.key"\nack_timeout_s = 5.0\n')  # fmt: skip
    monkeypatch.setenv("THECAL_IMPLANTS_FILE", str(implants))
    try:
        yield
    finally:
        srv.stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.fixture
def served(ipg_env: None, server: Server) -> Server:
    return server


def test_stimulator_measurements_in_chromium(served: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    engine = make_engine(served.url)
    try:
        with SqlUnitOfWork(engine).reader() as repo:
            pid = next(p.id for p in repo.list_patients() if p.mrn == "SEED-000")
    finally:
        engine.dispose()
    with chromium_page() as page:
        page.goto(f"{served.base}/login")
        page.locator("input[name=username]").fill("nurse")
        page.locator("input[name=password]").fill("demo-nurse")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{served.base}/")

        page.goto(f"{served.base}/patients/{pid}")
        current = page.locator("section.stimulator").first
        _shot(page, tmp_path, "stim-read-before.png")
        current.get_by_role("button", name=f"Read impedances from the stimulator {SERIAL}").click()
        # stored: back on the page, with the success message
        page.wait_for_url(f"**/patients/{pid}?saved=stimulator-read#stimulator-*")
        expect(page.get_by_role("status")).to_contain_text("Stimulator read")
        expect(current).to_contain_text("Latest reading")
        _shot(page, tmp_path, "stim-read-after.png")

        current.locator("textarea[name=impedances]").fill("L1:0 = 850 ohm\nL1:1 = 1.2 kohm\n")
        current.get_by_role("button", name="Record impedances").click()
        page.wait_for_url(f"**/patients/{pid}?saved=impedances#stimulator-*")
        _shot(page, tmp_path, "stim-read-manual.png")
        form = page.locator("section.stimulator").first.locator("form.manual-battery")
        form.locator("input[name=voltage]").fill("3.1")
        form.get_by_role("button", name="Record battery reading").click()
        expect(page.locator("body")).to_contain_text("Battery voltage:")  # the field in words
        _shot(page, tmp_path, "stim-read-bad-voltage.png")
