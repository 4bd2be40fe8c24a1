"""Who may change what, through the web: the clinic service refuses, the form says why (403)."""

import re
from dataclasses import replace

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login, refill_dry_demo_pump, version_of
from thecal.api.context import AppContext
from thecal.clinic.workflows import change_program, current_prescription


def _patient(ctx: AppContext, mrn: str = "DEMO-0001") -> tuple[str, int]:
    with ctx.uow.reader() as repo:
        p = next(p for p in repo.list_patients() if p.mrn == mrn)
        rx = current_prescription(repo, p.id)
    assert rx is not None
    return p.id, rx.version


def _mark_opioid_naive(ctx: AppContext, pid: str) -> None:
    with ctx.uow.transaction("physician", ctx.clock(), "history corrected") as repo:
        repo.update_patient(replace(repo.get_patient(pid), opioid_naive=True))


def _reasons(html: str) -> dict[str, str]:
    return dict.fromkeys(re.findall(r'name="(reason:[^"]+)"', html), "reviewed in clinic")


def test_only_a_physician_gives_the_reason_for_an_opioid_dose(
    client: TestClient, ctx: AppContext
) -> None:
    pid, version = _patient(ctx)  # morphine 3 mg/d
    # Now recorded as opioid-naive: 2.5 mg/d is above the 1 mg/d opioid-naive limit (soft).
    _mark_opioid_naive(ctx, pid)
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/program")
    form = {"csrf": token, "dose": "2.5 mg/d", "reason": "less sedation"}
    r = client.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
    assert r.status_code == 200 and 'name="reason:DOSE-DAILY-MAX"' in r.text, r.text
    # The preview already says whose decision the reason is, before the nurse confirms.
    assert "Reason (required, a physician's decision)" in r.text
    r = client.post(f"/patients/{pid}/program",
                    data={**form, **_reasons(r.text), **version_of(r.text),
                          "step": "confirm"})  # fmt: skip
    assert r.status_code == 403
    assert "a physician must give the reason for DOSE-DAILY-MAX" in r.text
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, pid)
    assert rx is not None and rx.version == version  # nothing stored
    doctor = TestClient(client.app)
    login(doctor, "physician")
    token = csrf_of(doctor, f"/patients/{pid}/program")
    form = {"csrf": token, "dose": "2.5 mg/d", "reason": "tolerant on oral morphine"}
    r = doctor.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
    r = doctor.post(f"/patients/{pid}/program",
                    data={**form, **_reasons(r.text), **version_of(r.text), "step": "confirm"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text


def test_nurse_bounds_shown_at_preview_and_rechecked_at_confirm(
    client: TestClient, ctx: AppContext
) -> None:
    refill_dry_demo_pump(ctx)  # else every change is a restart on an empty pump
    pid, version = _patient(ctx)  # morphine 3 mg/d
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/program")
    higher = {"csrf": token, "dose": "4 mg/d", "reason": "x", "step": "preview"}
    r = client.post(f"/patients/{pid}/program", data=higher)
    assert r.status_code == 403 and "4 mg/d is above the prescribed 3 mg/d" in r.text
    # Within the prescription at preview: 2.8 mg/d ≤ 3 mg/d.
    form = {"csrf": token, "dose": "2.8 mg/d", "reason": "less sedation"}
    r = client.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
    assert r.status_code == 200, r.text
    reasons = _reasons(r.text)
    # Before the nurse confirms, the physician lowers the dose to 2 mg/d.
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, pid)
        doctor = repo.user_by_name("physician")
    assert rx is not None and doctor is not None
    lower = rx.plan().model_copy(
        update={"schedule": rx.plan().schedule.model_copy(update={"dose": "2 mg/d"})}
    )
    change_program(
        ctx.uow,
        ctx.clock,
        ctx.library,
        ctx.catalog,
        actor=doctor,
        patient_id=pid,
        plan=lower,
        reason="sedated",
    )
    r = client.post(f"/patients/{pid}/program", data={**form, **reasons, "step": "confirm"})
    assert r.status_code == 403 and "2.8 mg/d is above the prescribed 2 mg/d" in r.text
    with ctx.uow.reader() as repo:
        now = current_prescription(repo, pid)
    assert now is not None and now.version == version + 1  # only the physician's change
    assert now.plan().schedule.dose == "2 mg/d"


def test_nurse_may_not_restart_a_pump_that_ran_dry(client: TestClient, ctx: AppContext) -> None:
    pid, _ = _patient(ctx)  # overdue: the demo stopped refilling it, the reservoir ran dry
    with ctx.uow.reader() as repo:
        before = len(repo.refills_for(pid))
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/refill")
    form = {"csrf": token, "withdrawn": "3.0 mL", "filled": "20 mL", "drug_lot": "LOT-W1"}
    r = client.post(f"/patients/{pid}/refill", data=form)
    assert r.status_code == 200 and 'name="reason:RESTART-TOLERANCE"' in r.text, r.text
    r = client.post(f"/patients/{pid}/refill",
                    data={**form, **_reasons(r.text), **version_of(r.text),
                          "step": "confirm"})  # fmt: skip
    assert r.status_code == 403
    assert "a physician must give the reason for RESTART-TOLERANCE" in r.text
    with ctx.uow.reader() as repo:
        assert len(repo.refills_for(pid)) == before  # nothing stored
