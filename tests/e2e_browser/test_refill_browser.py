"""One real browser against a real ``thecal serve`` process: Playwright (sync API) drives
Debian's Chromium headless through log in → dashboard → patient → refill form → confirmation →
the next refill date on the patient page.

Never runs ``playwright install``: the browser is the distribution's /usr/bin/chromium. Outside
CI a machine without it skips with the reason; in CI (``$CI`` set) a missing browser fails.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

from thecal.cli.web import load_demo_clinic
from thecal.store.database import make_engine
from thecal.store.uow import SqlUnitOfWork

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
STARTUP_S = 300.0  # a hang guard for the server's start, not a speed target
STEP_MS = 15_000  # every browser action and navigation


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _require_chromium() -> None:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    if _in_ci():
        pytest.fail(f"CI is set but {CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); runs in CI where CI is set")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base: str
    url: str  # the database
    log: Path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``thecal serve --demo`` on an ephemeral port and a temp SQLite file. The demo clinic is
    loaded here first with one generated patient (faster than serve's 20); ``--demo`` then
    finds the database filled and only prints the logins."""
    _require_chromium()
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    load_demo_clinic(url, datetime.now().date(), generated=1)
    port = _free_port()
    log = tmp_path / "server.log"
    # The secret from the environment: serve must not write a key into the user's data dir.
    env = dict(os.environ, THECAL_SECRET_KEY="e2e-browser-test")
    cmd = [sys.executable, "-m", "thecal.cli.main", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--database-url", url, "--demo"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                with urllib.request.urlopen(f"{base}/login", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"thecal serve exited {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"thecal serve did not answer in {STARTUP_S} s:\n{log.read_text()}")
            time.sleep(0.2)
        yield Server(base, url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def chromium_page() -> "Iterator[Page]":
    """A page in Debian's Chromium, headless, every wait bounded by ``STEP_MS``."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_MS)
    with sync_playwright() as p:
        # launch() gives every run a fresh temporary profile (user-data-dir) and deletes it on
        # close; Playwright refuses --user-data-dir in args.
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(STEP_MS)
            page.set_default_navigation_timeout(STEP_MS)
            yield page
        finally:
            browser.close()


def test_physician_records_a_due_refill_in_chromium(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with chromium_page() as page:
        # Anonymous → login page; log in as the demo physician: the demo's overdue pump has run
        # dry, and only a physician gives the reason to restart it (RESTART-TOLERANCE; the
        # nurse's refusal is tested in tests/web/test_roles.py).
        page.goto(f"{server.base}/")
        expect(page).to_have_url(f"{server.base}/login")
        page.locator("input[name=username]").fill("physician")
        page.locator("input[name=password]").fill("demo-physician")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{server.base}/")

        # The dashboard lists at least one overdue or due-today refill: open that patient.
        row = page.locator("tr.overdue, tr.due").first
        expect(row).to_be_visible()
        link = row.locator("a[href^='/patients/']")
        href = link.get_attribute("href")
        assert href is not None
        patient_id = href.rsplit("/", 1)[1]
        mrn = link.inner_text().split()[0]
        link.click()
        expect(page).to_have_url(f"{server.base}{href}")
        expect(page.locator("h1")).to_contain_text(mrn)

        # The refill form: withdrawn, filled, lot → Calculate.
        page.get_by_role("link", name="Record a refill").click()
        page.locator("input[name=withdrawn]").fill("3.0 mL")
        page.locator("input[name=filled]").fill("20 mL")
        page.locator("input[name=drug_lot]").fill("LOT-E2E-1")
        page.get_by_role("button", name="Calculate").click()

        # The confirmation page: old vs new; a reason for every soft finding, then confirm.
        expect(page.get_by_text("Old vs new")).to_be_visible()
        reasons = page.locator("input[name^='reason:']")
        soft = reasons.count()
        for i in range(soft):
            reasons.nth(i).fill("e2e browser test: measured volume as withdrawn")
        page.get_by_role("button", name="Confirm and record").click()
        expect(page).to_have_url(f"{server.base}/patients/{patient_id}?saved=refill")
        expect(page.get_by_role("status")).to_contain_text("Refill recorded")

        # The stored refill's next-refill date is what the patient page shows.
        engine = make_engine(server.url)
        try:
            uow = SqlUnitOfWork(engine)
            with uow.reader() as repo:
                last = repo.refills_for(patient_id)[-1]
            report = uow.verify_audit()
        finally:
            engine.dispose()
        assert last.drug_lot == "LOT-E2E-1" and last.by == "physician"
        assert len(last.overrides) == soft  # every soft finding's reason was stored
        assert last.refill_by is not None and last.refill_by > datetime.now()
        assert report.ok, report.problems
        next_refill = page.locator("td.next-refill").filter(
            has_text=f"{last.refill_by:%Y-%m-%d %H:%M}"
        )
        expect(next_refill).to_be_visible()
        expect(page.get_by_text("LOT-E2E-1")).to_be_visible()
        shot = tmp_path / "patient-after-refill.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000  # a rendered page, not a blank frame

        # Back on the dashboard the patient is no longer overdue.
        page.goto(f"{server.base}/")
        overdue = page.locator("tr.overdue, tr.due").filter(has_text=mrn)
        expect(overdue).to_have_count(0)
