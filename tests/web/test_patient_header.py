"""The patient header (every drug's daily dose, the pump's rate with its time base, the next
refill, the expected reservoir now, open alarms, device dwell times) and the patient page's
fixes: no "vNone" in the timeline, charts with a "today" line, info findings called info."""

from dataclasses import replace
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.web.conftest import login
from tests.web.test_web import _due_patient
from thecal.api.context import AppContext
from thecal.clinic.model import Patient, StoredFinding
from thecal.therapy.delivery import daily_dose
from thecal.therapy.findings import Level
from thecal.therapy.plan import resolve
from thecal.units import fmt
from thecal.web.charts import refill_history_svg
from thecal.web.pages_common import level_class
from thecal.web.patient_header import build_header, years


def _two_drug_patient(ctx: AppContext) -> Patient:
    """A demo patient whose admixture holds two drugs (hydromorphone with bupivacaine)."""
    with ctx.uow.reader() as repo:
        for p in repo.list_patients():
            versions = repo.prescriptions_for(p.id)
            if versions and len(versions[-1].plan().admixture) >= 2:
                return p
    raise AssertionError("the demo has a two-drug admixture")


def test_header_shows_every_drug_with_its_daily_dose(client: TestClient, ctx: AppContext) -> None:
    p = _two_drug_patient(ctx)
    with ctx.uow.reader() as repo:
        rx = repo.prescriptions_for(p.id)[-1]
    resolved = resolve(rx.plan().to_typed(), ctx.library, ctx.catalog)
    dose = daily_dose(resolved.schedule, resolved.admixture, resolved.program.patient_bolus)
    login(client, "nurse")
    for path in ("", "/refill", "/program"):
        html = client.get(f"/patients/{p.id}{path}").text
        header = html[html.index('class="patient-header"') : html.index("</section>")]
        assert len(resolved.admixture.ingredients) == 2
        for ing in resolved.admixture.ingredients:  # every drug, not only the first
            name = ing.drug.name
            assert f"{name} {fmt(dose.nominal[name])} ({fmt(ing.concentration)})" in header
        # The pump's volume per day and per hour: the time base is in the unit.
        assert fmt(dose.nominal_volume.to("mL/d")) in header and "mL/d" in header
        assert fmt(dose.nominal_volume.to("mL/h")) in header and "mL/h" in header
        assert "Open alarms" in header and "Next refill" in header


def test_reservoir_now_is_the_fill_minus_what_the_pump_delivered(ctx: AppContext) -> None:
    p = _two_drug_patient(ctx)
    h = build_header(ctx, p.id)
    with ctx.uow.reader() as repo:
        last = repo.refills_for(p.id)[-1]
    assert h.volume is not None and h.reservoir_now is not None
    # A continuous schedule unchanged since the fill: filled − (mL/d × days since the fill).
    days = (ctx.clock() - last.performed_at) / timedelta(days=1)
    hand = last.filled.to("mL").magnitude - h.volume.to("mL/d").magnitude * days
    assert abs(h.reservoir_now.to("mL").magnitude - max(hand, 0.0)) < 1e-6
    assert (
        h.refill.due is not None
        and h.refill.days_left == (h.refill.due.date() - ctx.clock().date()).days
    )


def test_device_dwell_time_in_days_and_years() -> None:
    from thecal.units import Q_

    assert years(Q_(30, "d")) == "30 d"
    # 731 d / 365.25 d per year = 2.001 → "2.0 years"; under 365.25 d only days
    assert years(Q_(731, "d")) == "731 d (2.0 years)"
    assert years(Q_(365, "d")) == "365 d"


def test_timeline_names_the_first_prescription_not_vnone(
    client: TestClient, ctx: AppContext
) -> None:
    login(client, "nurse")
    with ctx.uow.reader() as repo:
        ids = [p.id for p in repo.list_patients()]
    for pid in ids:
        html = client.get(f"/patients/{pid}").text
        assert "vNone" not in html
    assert any("first prescription (version 1)" in client.get(f"/patients/{i}").text for i in ids)


def test_charts_draw_a_today_line(client: TestClient, ctx: AppContext) -> None:
    login(client, "nurse")
    p = _two_drug_patient(ctx)
    svg = client.get(f"/patients/{p.id}/charts/reservoir.svg").text
    assert f"today {ctx.clock():%Y-%m-%d}" in svg


def test_info_findings_are_called_info_in_the_refill_chart(ctx: AppContext) -> None:
    p = _two_drug_patient(ctx)
    with ctx.uow.reader() as repo:
        refills = list(repo.refills_for(p.id))
    info = StoredFinding(level=Level.INFO, code="X-INFO", message="m", source="s")
    soft = StoredFinding(level=Level.SOFT, code="Y-SOFT", message="m", source="s")
    only_info = [replace(r, findings=(info,)) for r in refills[:3]]
    svg = refill_history_svg(only_info)
    assert "info finding" in svg and "soft finding" not in svg and "X-INFO" in svg
    mixed = [replace(refills[0], findings=(info, soft)), replace(refills[1], findings=(info,))]
    svg = refill_history_svg(mixed)
    # the most severe level marks a refill; each distinct set is one key line
    assert "soft finding" in svg and "info finding" in svg
    assert "a (soft): X-INFO, Y-SOFT" in svg and "b (info): X-INFO" in svg


def test_level_classes() -> None:
    assert level_class(Level.HARD) == "status-hard" and level_class("soft") == "status-soft"
    assert level_class("info") == "status-info" and level_class("critical") == "status-hard"
    assert level_class("something else") == "status-info"


def test_an_overdue_patients_chart_and_header_show_today(
    client: TestClient, ctx: AppContext
) -> None:
    pid, _, due = _due_patient(ctx)
    ctx.clock.now = due + timedelta(days=20)  # type: ignore[attr-defined]
    login(client, "nurse")
    svg = client.get(f"/patients/{pid}/charts/reservoir.svg").text
    assert f"today {ctx.clock():%Y-%m-%d}" in svg
    h = build_header(ctx, pid)
    assert h.refill.days_left is not None and h.refill.days_left < 0
    assert h.refill.status.value == "overdue"
