"""axe-core (vendored: src/thecal/web/static/axe.min.js) in Debian's Chromium on every page a
signed-in nurse reaches from the navigation and from the seed patients' pages (patient,
refill, program, stimulator program, stored interrogations), plus the login and error pages:
no serious or critical violation of the WCAG 2.0/2.1 A and AA rules and axe's best practices.
Same server fixture and browser rules as test_refill_browser.py."""

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tests.e2e_browser.test_refill_browser import Server, chromium_page, server

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["server"]  # the fixture, imported for pytest

AXE = Path(__file__).parents[2] / "src" / "thecal" / "web" / "static" / "axe.min.js"
FAILING = ("serious", "critical")  # axe's impact levels this test refuses
SHOTS_ENV = "THECAL_SCREENSHOTS"  # a directory to keep the screenshots in (default: none)


def _violations(page: "Page") -> list[dict[str, object]]:
    """axe's serious and critical violations on the page shown (rule, impact, first nodes)."""
    page.add_script_tag(path=str(AXE))
    assert page.evaluate("axe.version") == "4.14.1"  # axe is really there (static/README.md)
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in result if v["impact"] in FAILING]


def _links(page: "Page", selector: str) -> list[str]:
    hrefs = page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")
    return [h for h in dict.fromkeys(hrefs) if h]


def test_no_serious_or_critical_axe_violation(server: Server) -> None:
    from playwright.sync_api import expect

    shots = os.environ.get(SHOTS_ENV)
    found: dict[str, list[dict[str, object]]] = {}
    checked: list[str] = []

    def check(page: "Page", path: str) -> None:
        answer = page.goto(f"{server.base}{path}")
        assert answer is not None and answer.status < 500, (path, answer and answer.status)
        if shots:
            name = path.strip("/").replace("/", "_").replace("?", "_") or "dashboard"
            page.screenshot(path=str(Path(shots) / f"a11y-{name}.png"), full_page=True)
        if bad := _violations(page):
            found[path] = bad
        checked.append(path)

    with chromium_page() as page:
        check(page, "/login")
        page.locator("input[name=username]").fill("nurse")
        page.locator("input[name=password]").fill("demo-nurse")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{server.base}/")

        nav = _links(page, "header nav a")
        assert {"/", "/calendar", "/worklist", "/audit"} <= set(nav)
        pages = [*nav, "/calendar?view=month", "/calendar?view=week", "/calendar?view=table",
                 "/audit?page=2&what=insert", "/worklist/automatic"]  # fmt: skip
        for path in pages:
            check(page, path)
        page.goto(f"{server.base}/")
        patients = sorted(
            {"/".join(h.split("/")[:3]) for h in _links(page, "main a[href^='/patients/']")}
        )
        assert patients, "the seed patients are linked from the dashboard"
        for patient in patients:
            check(page, patient)
            subpages = [h for h in _links(page, "main a[href^='/patients/']")
                        if h.startswith(patient + "/") and "#" not in h]  # fmt: skip
            for sub in subpages:
                check(page, sub)
        check(page, "/patients/" + "0" * 32)  # the 404 page

    assert len(checked) >= 8, checked
    print(f"axe checked {len(checked)} pages: {' '.join(checked)}")
    assert not found, json.dumps(found, indent=1)
