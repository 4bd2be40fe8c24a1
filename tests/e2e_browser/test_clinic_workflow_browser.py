"""One real browser through a whole clinic workflow (Debian's Chromium headless against
``thecal serve``, the fixtures of test_refill_browser), on a patient registered in the test:

as the physician: register the patient -> implant a pump, then a catheter -> the first
prescription on the program page (checked, findings reasoned, stored) -> start the patient's
pump as a virtual implant on 127.0.0.1 running that prescription -> register its link on
/implants (the clinician key file uploaded) -> change the program on the program page (written
to the pump, read back, verified, then recorded) -> interrogate and read the reconciliation ->
refill through the wizard -> the session record; then as a viewer: no write form or button on these
pages, and a direct POST refused (403).

Screenshots go to ``tmp_path`` (and to ``$THECAL_SCREENSHOTS`` when set, to look at them)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from tests.e2e_browser.test_accessibility import _violations
from tests.e2e_browser.test_refill_browser import Server, chromium_page, server
from tests.e2e_browser.test_stimulator_browser import _shot
from thecal.adapters.data_files import load_catalog, load_library
from thecal.adapters.implant_server import DeviceInputs, implant_from_plan, make_server
from thecal.clinic.workflows import current_prescription
from thecal.link.keystore import export_role_credential, provision_implant
from thecal.link.roles import Role
from thecal.link.transport import TcpListener
from thecal.store.database import make_engine
from thecal.store.uow import SqlUnitOfWork
from thecal.units import Q_

__all__ = ["server"]

MRN = "E2E-WF-1"
SERIAL = "E2E-WF-PUMP"
PUMP = "Prometra II 20 mL"


def _login(page: Any, base: str, who: str) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=username]").fill(who)
    page.locator("input[name=password]").fill(f"demo-{who}")
    page.get_by_role("button", name="Log in").click()


@contextmanager
def _virtual_pump(url: str, pid: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The patient's pump served on an ephemeral 127.0.0.1 port, running the prescription in
    force; yields the port and the clinician key file (for the /implants form)."""
    library, catalog = load_library(), load_catalog()
    engine = make_engine(url)
    try:
        with SqlUnitOfWork(engine).reader() as repo:
            rx = current_prescription(repo, pid)
    finally:
        engine.dispose()
    assert rx is not None
    secret = provision_implant(tmp_path / "implant.key", SERIAL)
    key = tmp_path / "clinician.key"
    export_role_credential(secret, Role.CLINICIAN, key)
    # Test inputs (not public): the pump's alarm repeats.
    inputs = DeviceInputs(SERIAL, Q_(10, "min"), None, Q_(60, "min"))
    implant = implant_from_plan(rx.plan().to_typed(), library, catalog, inputs)
    srv = make_server(implant, library, secret.key, Q_(60, "s"))
    listener = TcpListener(0)
    thread = threading.Thread(target=srv.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    try:
        yield listener.port, key
    finally:
        srv.stop.set()
        thread.join(timeout=5)
        listener.close()


def test_clinic_workflow_in_chromium(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    base = server.base
    today = date.today().isoformat()
    with chromium_page() as page:
        _login(page, base, "physician")
        expect(page).to_have_url(f"{base}/")

        # 1. Register the patient.
        page.goto(f"{base}/patients/new")
        page.get_by_label("Record number (MRN)").fill(MRN)
        page.get_by_label("Name").fill("Synthetic Workflow")
        page.get_by_label("Date of birth").fill("1961-02-03")
        page.get_by_label("Sex").select_option("female")
        page.get_by_role("button", name="Register patient").click()
        expect(page.get_by_role("status")).to_contain_text("Patient registered.")
        pid = page.url.split("/patients/")[1].split("/")[0]
        _shot(page, tmp_path, "wf-01-registered.png")

        # 2. Implant the pump, then the catheter (one device per procedure form).
        for kind, model, extra in (
            ("pump", PUMP, {"Serial": SERIAL}),
            ("catheter", "Prometra catheter", {"Catheter implanted length": "45",
                                          "Catheter tip level": "T10"}),
        ):  # fmt: skip
            page.get_by_role("link", name="Add device / procedure").click()
            page.get_by_label("Date", exact=True).fill(today)
            page.get_by_label("Kind").select_option(kind)
            page.get_by_label("Model (from the device catalog)").fill(model)
            for label, value in extra.items():
                page.get_by_label(label).fill(value)
            if kind == "pump":
                page.get_by_label("Pocket side (pump, stimulator)").select_option("right")
            _shot(page, tmp_path, f"wf-02-{kind}.png")
            page.get_by_role("button", name="Record procedure").click()
            expect(page.get_by_role("status")).to_contain_text("Procedure recorded.")
        expect(page.locator("main")).to_contain_text(SERIAL)
        _shot(page, tmp_path, "wf-03-devices.png")

        # 3. The first prescription on the program page: checked, then stored (record only:
        # no link yet). Illustrative: morphine 10 mg/mL at 3 mg/d = 0.3 mL/d; 20 mL filled.
        page.goto(f"{base}/patients/{pid}/program")
        expect(page.get_by_role("heading", level=1)).to_contain_text("First prescription")
        expect(page.locator("main")).to_contain_text("volume 0.117 mL")  # 45 cm x 0.0026 mL/cm
        page.get_by_label("Drug 1", exact=True).select_option("morphine")
        page.get_by_label("Drug 1 concentration").fill("10 mg/mL")
        page.get_by_label("Continuous: daily dose of drug 1").fill("3 mg/d")
        page.get_by_label("Volume filled into the new pump").fill("20 mL")
        page.get_by_label("Reason for the prescription").fill("first prescription (e2e)")
        _shot(page, tmp_path, "wf-04a-first-prescription.png")
        page.get_by_role("button", name="Check").click()
        expect(page.get_by_role("heading", name="Findings")).to_be_visible()
        expect(page.locator("main")).to_contain_text("20 mL at ")  # the initial fill
        for box in page.locator("input[name^='reason:']").all():
            box.fill("decided in clinic (e2e)")
        _shot(page, tmp_path, "wf-04b-first-prescription-check.png")
        page.get_by_role("button", name="Confirm and store the program (record only)").click()
        expect(page.get_by_role("status")).to_contain_text("the pump was NOT programmed")
        expect(page.locator("main")).to_contain_text("has no registered link")
        _shot(page, tmp_path, "wf-04-program-no-link.png")

        with _virtual_pump(server.url, pid, tmp_path) as (port, key):
            # 4. Register the implant link (physician), the clinician key uploaded.
            page.goto(f"{base}/implants")
            page.get_by_label("Implant serial").select_option(SERIAL)
            page.get_by_label("Link address (host:port)").fill(f"127.0.0.1:{port}")
            page.get_by_label("Clinician key file").set_input_files(str(key))
            page.get_by_label("Reason").fill("virtual implant (e2e)")
            page.get_by_role("button", name="Save the link").click()
            expect(page.get_by_role("status")).to_contain_text(f"Link of implant {SERIAL} saved")
            _shot(page, tmp_path, "wf-05-implant-link.png")

            # 5. Program the implant through the web: checked, written, read back, recorded.
            page.goto(f"{base}/patients/{pid}/program")
            expect(page.locator("main")).to_contain_text("is reachable over its link")
            page.get_by_label("Continuous: daily dose").fill("2.5 mg/d")
            page.get_by_label("Reason for the change").fill("less sedation (e2e)")
            page.get_by_role("button", name="Check").click()
            expect(page.get_by_role("heading", name="Findings")).to_be_visible()
            for box in page.locator("input[name^='reason:']").all():
                box.fill("reviewed in clinic (e2e)")
            _shot(page, tmp_path, "wf-06-program-check.png")
            page.get_by_role("button", name="Confirm: write to the pump, then record").click()
            expect(page.get_by_role("status")).to_contain_text("read back, verified and committed")
            _shot(page, tmp_path, "wf-07-program-confirmed.png")

            # 6. Interrogate: the reading stored, reconciled with the record.
            page.goto(f"{base}/patients/{pid}")
            page.get_by_role("button", name=f"Interrogate {SERIAL}").click()
            expect(
                page.get_by_role("heading", name="Reconciliation with the record")
            ).to_be_visible()
            _shot(page, tmp_path, "wf-08-interrogation.png")

            # 7. Refill through the wizard with a concentration change and its bridge bolus;
            # 8. the session record, then the pump interrogated: it runs the new program.
            page.goto(f"{base}/patients/{pid}/refill-wizard")
            page.get_by_role("button", name="Interrogate").click()
            expect(page.locator("main")).to_contain_text("What the pump said")
            page.get_by_label("Withdrawn from the reservoir").fill("19.9 mL")
            page.get_by_role("button", name="Next: check the residual").click()
            expect(page.locator("main")).to_contain_text("discrepancy (withdrawn − expected)")
            page.get_by_label("Drug lot (on the vial)").fill("LOT-E2E")
            page.get_by_label("morphine concentration in the new fill").fill("25 mg/mL")
            # Test inputs (not public: the Prometra II tubing volume; this catheter's volume).
            page.get_by_label("Catheter volume").fill("0.13 mL")
            page.get_by_label("Pump internal (tubing) volume").fill("0.2 mL")
            page.get_by_role("button", name="Next: fill").click()
            page.get_by_label("Filled into the reservoir").fill("20 mL")
            page.get_by_role("button", name="Next: review").click()
            expect(page.locator("main")).to_contain_text("Review and confirm")
            for box in page.locator("input[name^='reason:']").all():
                box.fill("decided in clinic (e2e)")
            _shot(page, tmp_path, "wf-09-refill-review.png")
            assert _violations(page) == []  # axe-core: the review with the change
            page.get_by_role("button", name="Confirm: send the refill, the new program and the "
                             "bridge bolus, verify, record").click()  # fmt: skip
            main = page.locator("main")
            expect(main).to_contain_text("Refill and new program sent to the pump, confirmed")
            expect(main).to_contain_text("LOT-E2E")
            # Step 5 left 2.5 mg/d at 10 mg/mL = 0.25 mL/d. At 25 mg/mL the same 2.5 mg/d is
            # 2.5 ÷ 25 = 0.1 mL/d. Dead volume 0.2 + 0.13 = 0.33 mL; bridge rate 2.5 mg/d ÷ OLD
            # 10 mg/mL = 0.25 mL/d for 0.33 ÷ 0.25 = 1.32 d = 31.68 h; sent on top of the new
            # basal: (0.25 − 0.1) mL/d × 1.32 d = 0.198 mL over 31.68 h.
            expect(main.locator(".concentrations")).to_have_text("morphine 10 mg/mL → 25 mg/mL")
            expect(main.locator(".old-rate")).to_have_text("0.25 mL/d")
            expect(main.locator(".new-rate")).to_have_text("0.1 mL/d")
            expect(main.locator(".rate-formula")).to_contain_text(
                "0.25 mL/d × 10 mg/mL = 2.5 mg/d; new rate = 2.5 mg/d ÷ 25 mg/mL = 0.1 mL/d"
            )
            expect(main.locator(".bridge")).to_contain_text("0.33 mL of the old fill at 0.25 mL/d "
                                                            "for 31.68 h")  # fmt: skip
            expect(main.locator(".step-program")).to_contain_text("confirmed")
            expect(main.locator(".step-program")).to_contain_text("prescription v3 (was v2)")
            expect(main.locator(".step-bridge")).to_contain_text(
                "bridge bolus of 0.198 mL over 31.68 h started by the pump"
            )
            _shot(page, tmp_path, "wf-10-session-record.png")
            assert _violations(page) == []  # axe-core: the record with the change
            session_url = page.url
            # The pump runs the new program: read it back, and the reconciliation agrees.
            page.goto(f"{base}/patients/{pid}/refill-wizard")
            page.get_by_role("button", name="Interrogate").click()
            expect(page.locator("main")).to_contain_text("morphine 25 mg/mL")
            page.goto(f"{base}/patients/{pid}")
            page.get_by_role("button", name=f"Interrogate {SERIAL}").click()
            expect(
                page.get_by_role("heading", name="Reconciliation with the record")
            ).to_be_visible()
            expect(page.locator("main")).not_to_contain_text("RECON-PROGRAM-UNKNOWN")
            _shot(page, tmp_path, "wf-10b-interrogation-after-refill.png")

    # 9. The viewer: reads everything, writes nothing.
    with chromium_page() as page:
        _login(page, base, "viewer")
        expect(page).to_have_url(f"{base}/")
        for path, name in (
            (f"/patients/{pid}", "patient"), (f"/patients/{pid}/registration", "registration"),
            (f"/patients/{pid}/program", "program"), ("/implants", "implants"),
            (f"/patients/{pid}/refill-wizard", "refill-wizard"),
        ):  # fmt: skip
            r = page.goto(f"{base}{path}")
            assert r is not None
            _shot(page, tmp_path, f"wf-11-viewer-{name}.png")
            if r.status != 200:  # a write-only page refuses the viewer outright
                assert r.status == 403, (path, r.status)
                continue
            expect(page.locator("main form[method=post]")).to_have_count(0)
            expect(page.locator("main button")).to_have_count(0)
        page.goto(session_url)
        expect(page.locator("main")).to_contain_text("LOT-E2E")
        _shot(page, tmp_path, "wf-12-viewer-session-record.png")
        # A direct POST with the viewer's own valid CSRF token: refused by role, not by token.
        page.goto(f"{base}/patients")
        token = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        r = page.request.post(f"{base}/patients/{pid}/program", form={
            "csrf": token, "step": "confirm", "dose": "10 mg/d", "reason": "viewer"})  # fmt: skip
        assert r.status == 403, r.status
        api = page.request.get(f"{base}/api/v1/patients/{pid}").json()
        # The physician's change and the concentration change at the refill only.
        assert api["prescription"]["version"] == 3
