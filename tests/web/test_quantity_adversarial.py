"""Adversarial quantities through the web forms (refill: live preview, review, confirm;
program change: review, confirm, with the flex and patient bolus editors; the first
prescription; the device/procedure form's catheter length; the refill wizard's concentration,
catheter, pump tubing and fill volumes). Every answer is a page or fragment (never a 500); a
value the parser refuses is shown naming its field; whatever is stored is finite, and the
charts draw afterwards."""

import html
import math
import re

from fastapi.testclient import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.quantity_inputs import NUMBERS, quantity_text
from tests.web.conftest import csrf_of, login
from thecal.api.context import AppContext
from thecal.clinic.calendar import refill_calendar
from thecal.clinic.workflows import current_prescription
from thecal.therapy.delivery import daily_dose
from thecal.therapy.plan_file import PlanFile
from thecal.units import Dimension, InputError, field_label, parse_quantity

FUZZ = settings(max_examples=20, deadline=None)
V = Dimension.VOLUME


def refused(text: str, dim: Dimension) -> bool:
    try:
        parse_quantity(text, "x", dim)
    except InputError:
        return True
    return False


def reasons(page: str) -> dict[str, str]:
    return dict.fromkeys(re.findall(r'name="(reason:[^"]+)"', page), "fuzz reviewed")


def shown(page: str) -> str:
    return html.unescape(page)


def test_refill_form(client: TestClient, ctx: AppContext) -> None:
    with ctx.uow.reader() as repo:
        due = next(e for e in refill_calendar(repo, ctx.today(), ctx.soon) if e.due)
    assert due.due is not None
    pid = due.patient_id
    ctx.clock.now = due.due.replace(hour=8)  # type: ignore[attr-defined]
    login(client, "nurse")
    token = csrf_of(client, f"/patients/{pid}/refill")

    @FUZZ
    @given(quantity_text(["mL", "uL"]), st.one_of(st.just("20 mL"), quantity_text(["mL"])))
    @example("NaN mL", "20 mL")
    @example("5 mL * 9**9**9", "20 mL")
    @example("4 gallon", "20 mL")
    @example("2,5 mL", "20 mL")
    @example("1.5 mL", "inf mL")
    def fuzz(withdrawn: str, filled: str) -> None:
        form = {"csrf": token, "withdrawn": withdrawn, "filled": filled, "drug_lot": "LOT-F"}
        first_bad = next(
            (f for f, t in (("refill.withdrawn", withdrawn), ("refill.filled", filled))
             if refused(t, V)), None,
        )  # fmt: skip
        live = client.post(f"/patients/{pid}/refill/preview", data=form)
        assert live.status_code == 200
        if first_bad:
            assert field_label(first_bad) in shown(live.text)
        r = client.post(f"/patients/{pid}/refill", data={**form, "step": "preview"})
        assert r.status_code in (200, 422), r.text
        if first_bad:
            assert r.status_code == 422 and field_label(first_bad) in shown(r.text)
        if r.status_code == 200:
            r = client.post(f"/patients/{pid}/refill",
                            data={**form, **reasons(r.text), "step": "confirm"},
                            follow_redirects=False)  # fmt: skip
            assert r.status_code in (303, 422), r.text
        with ctx.uow.reader() as repo:
            for rec in repo.refills_for(pid):
                for q in (rec.withdrawn, rec.filled, rec.expected_remaining, rec.discrepancy):
                    assert math.isfinite(q.magnitude)

    fuzz()
    assert client.get(f"/patients/{pid}/charts/refills.svg").status_code == 200


def test_program_form(client: TestClient, ctx: AppContext) -> None:
    with ctx.uow.reader() as repo:
        p = next(p for p in repo.list_patients() if p.mrn == "DEMO-0001")  # morphine 3 mg/d
    login(client, "physician")
    token = csrf_of(client, f"/patients/{p.id}/program")

    @FUZZ
    @given(quantity_text(["mg/d", "mcg/d", "mg/h"]), st.sampled_from(["", "2 mL", "nan mL"]))
    @example("nan mg/d", "")
    @example("inf mg/d", "")
    @example("2.5 mg/d", "1e999 mL")
    @example("2 mg/d + 1 mg/d", "")
    def fuzz(dose: str, alarm: str) -> None:
        form = {"csrf": token, "dose": dose, "low_reservoir_alarm": alarm, "reason": "fuzz"}
        r = client.post(f"/patients/{p.id}/program", data={**form, "step": "preview"})
        assert r.status_code in (200, 422), r.text
        # The form ignores a blank field (the current value stays); one refusal is shown.
        bad = [f for f, t, dim in (("schedule.dose", dose, Dimension.DOSE_RATE),
                                   ("pump.low_reservoir_alarm", alarm, V))
               if t.strip() and refused(t, dim)]  # fmt: skip
        if bad:
            assert r.status_code == 422 and any(field_label(f) in shown(r.text) for f in bad)
        if r.status_code == 200:
            r = client.post(f"/patients/{p.id}/program",
                            data={**form, **reasons(r.text), "step": "confirm"},
                            follow_redirects=False)  # fmt: skip
            assert r.status_code in (303, 422), r.text
        with ctx.uow.reader() as repo:
            rx = current_prescription(repo, p.id)
        assert rx is not None
        plan = rx.plan()
        assert plan.schedule.dose is not None
        assert math.isfinite(parse_quantity(plan.schedule.dose, "d", Dimension.DOSE_RATE).m)
        if plan.pump.low_reservoir_alarm:
            assert math.isfinite(parse_quantity(plan.pump.low_reservoir_alarm, "a", V).m)

    fuzz()
    assert client.get(f"/patients/{p.id}/charts/reservoir.svg").status_code == 200


def test_procedure_form_catheter_length(client: TestClient, ctx: AppContext) -> None:
    """The device/procedure form's catheter length (a bare number is in cm, the unit shown
    beside the field): refused is 422 naming ``device.length``; stored is finite, above 0 and
    not above the Prometra catheter's 110 cm."""
    login(client, "physician")
    token = csrf_of(client, "/patients/new")
    r = client.post("/patients/new", data={"csrf": token, "mrn": "FUZZ-CATH", "name": "Fuzz",
                    "date_of_birth": "1960-01-01", "sex": "female", "contact": ""},
                    follow_redirects=False)  # fmt: skip
    pid = r.headers["location"].split("/")[2]
    url = f"/patients/{pid}/procedures/new"

    @FUZZ
    @given(st.one_of(quantity_text(["cm", "mm", "m"]), st.sampled_from(NUMBERS)))
    @example("nan")
    @example("inf cm")
    @example("1e999")
    @example("110.0001 cm")
    @example("-45")
    @example("45 mL")
    def fuzz(length: str) -> None:
        version = re.search(r'name="version" value="(\d+)"', client.get(url).text)
        assert version
        form = {"csrf": token, "version": version.group(1), "kind": "implant",
                "performed_on": "2026-11-20", "device_kind": "catheter",
                "model": "Prometra catheter", "tip_level": "T10", "length": length}  # fmt: skip
        r = client.post(url, data=form, follow_redirects=False)
        assert r.status_code in (303, 422), r.text
        if r.status_code == 422:
            assert "device." in shown(r.text), r.text
        with ctx.uow.reader() as repo:
            for d in repo.devices_for(pid):
                cm = d.implanted_length.to("cm").m if d.implanted_length is not None else 1.0
                assert math.isfinite(cm) and 0 < cm <= 110

    fuzz()


def test_program_editors(client: TestClient, ctx: AppContext) -> None:
    """The program form's flex step amount and patient bolus fields (DEMO-0001, physician):
    a page (200 or 422 naming the field), never a 500; whatever is stored is finite."""
    with ctx.uow.reader() as repo:
        p = next(p for p in repo.list_patients() if p.mrn == "DEMO-0001")  # morphine 3 mg/d
    login(client, "physician")
    token = csrf_of(client, f"/patients/{p.id}/program")
    amounts = quantity_text(["mg/d", "mcg/d", "mL/d", "mL/h"])
    bolus = st.one_of(st.just(""), quantity_text(["mg", "mcg", "mL"]))
    times = st.one_of(st.sampled_from(["10 min", "4 h", ""]), quantity_text(["min", "h"]))

    @FUZZ
    @given(amounts, bolus, times, times)
    @example("nan mg/d", "", "", "")
    @example("2 mg/d", "inf mg", "10 min", "4 h")
    @example("2 mg/d", "0.1 mg", "1e999 min", "4 h")
    @example("2 mg/d", "0.1 mg", "10 min", "-4 h")
    @example("1e999 mL/h", "", "", "")
    def fuzz(amount: str, pb_amount: str, duration: str, lockout: str) -> None:
        form = {"csrf": token, "mode": "flex", "step_start_0": "00:00", "step_amount_0": amount,
                "pb_amount": pb_amount, "pb_duration": duration if pb_amount else "",
                "pb_lockout": lockout if pb_amount else "",
                "pb_max_per_day": "2" if pb_amount else "", "reason": "fuzz"}  # fmt: skip
        r = client.post(f"/patients/{p.id}/program", data={**form, "step": "preview"})
        assert r.status_code in (200, 422), r.text
        if refused(amount, Dimension.DOSE_RATE) and refused(amount, Dimension.FLOW_RATE):
            assert r.status_code == 422 and field_label("schedule.steps[0].amount") in shown(r.text)
        if r.status_code == 200:
            r = client.post(f"/patients/{p.id}/program",
                            data={**form, **reasons(r.text), "step": "confirm",
                                  "version": _version(r.text)}, follow_redirects=False)  # fmt: skip
            assert r.status_code in (303, 422), r.text
        with ctx.uow.reader() as repo:
            rx = current_prescription(repo, p.id)
        assert rx is not None
        _finite_plan(ctx, rx.plan())

    fuzz()
    assert client.get(f"/patients/{p.id}/charts/reservoir.svg").status_code == 200


def test_first_prescription_form(client: TestClient, ctx: AppContext) -> None:
    """The first prescription form's concentration, dose or rate, fill volume, catheter
    volume and alarm on patients with a pump and no prescription (a new one after each stored
    prescription): 200 or 422 naming the field; whatever is stored is finite."""
    from tests.web.test_program_first import FORM, implanted_patient

    made = iter(range(1000))
    pid = implanted_patient(client, f"FUZZ-FIRST-{next(made)}", catheter=False)
    token = csrf_of(client, f"/patients/{pid}/program")
    vols = quantity_text(["mL", "uL"])

    @FUZZ
    @given(quantity_text(["mg/mL", "mcg/mL"]), quantity_text(["mg/d", "mL/d"]), vols, vols,
           st.one_of(st.just(""), vols))  # fmt: skip
    @example("nan mg/mL", "3 mg/d", "20 mL", "0.1 mL", "")
    @example("10 mg/mL", "inf mg/d", "20 mL", "0.1 mL", "")
    @example("10 mg/mL", "3 mg/d", "1e999 mL", "0.1 mL", "")
    @example("10 mg/mL", "3 mg/d", "20 mL", "-0.1 mL", "")
    @example("10 mg/mL", "3 mg/d", "20 mL", "0.1 mL", "NaN mL")
    @example("10 mg/mL", "0.3 mL/d", "20 mL", "0.1 mL", "2 mL")
    def fuzz(conc: str, amount: str, fill: str, catheter: str, alarm: str) -> None:
        nonlocal pid, token
        key = "rate" if not refused(amount, Dimension.FLOW_RATE) else "dose"
        form = {"csrf": token, **FORM, "dose": "", "conc_0": conc, key: amount,
                "fill_volume": fill, "catheter_volume": catheter,
                "low_reservoir_alarm": alarm}  # fmt: skip
        r = client.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
        assert r.status_code in (200, 422), r.text
        # The form checks its fields in this order: the first the parser refuses is named (or
        # an earlier one a later range check refuses).
        order = [("admixture[0].concentration", conc, Dimension.CONCENTRATION, False),
                 (f"schedule.{key}", amount, Dimension.FLOW_RATE if key == "rate"
                  else Dimension.DOSE_RATE, False),
                 ("pump.low_reservoir_alarm", alarm, V, True),
                 ("catheter.volume", catheter, V, True),
                 ("fill.volume", fill, V, False)]  # fmt: skip
        first = next((i for i, (_, t, dim, optional) in enumerate(order)
                      if not (optional and not t.strip()) and refused(t, dim)), None)  # fmt: skip
        if first is not None:
            named = [f for f, *_ in order[: first + 1]]
            assert r.status_code == 422 and any(field_label(f) in shown(r.text) for f in named), (
                r.text
            )
        if r.status_code == 200:
            r = client.post(f"/patients/{pid}/program",
                            data={**form, **reasons(r.text), "step": "confirm",
                                  "version": _version(r.text)}, follow_redirects=False)  # fmt: skip
            assert r.status_code in (303, 422), r.text
        with ctx.uow.reader() as repo:
            rx = current_prescription(repo, pid)
        if rx is not None:
            _finite_plan(ctx, rx.plan())
            pid = implanted_patient(client, f"FUZZ-FIRST-{next(made)}", catheter=False)
            token = csrf_of(client, f"/patients/{pid}/program")  # a new login: a new token

    fuzz()


def test_refill_wizard_concentration_and_volumes(client: TestClient, ctx: AppContext) -> None:
    """The refill wizard's drug step (a new concentration, the catheter and pump tubing
    volumes) and fill step, without a link (the demo's links are not registered): a page, 200
    or 422 naming the field, never a 500; nothing is recorded before the confirm, and a
    concentration change is never confirmed by the wizard."""
    from tests.web.test_refill_wizard import _hidden

    with ctx.uow.reader() as repo:
        p = next(p for p in repo.list_patients() if p.mrn == "DEMO-0001")  # morphine 10 mg/mL
        before = len(repo.refills_for(p.id))
    login(client, "physician")
    url = f"/patients/{p.id}/refill-wizard"
    token = csrf_of(client, url)
    r = client.post(url, data={"csrf": token, "step": "withdraw", "withdrawn": "0 mL"})
    assert r.status_code == 200 and "Drug lot" in r.text, r.text
    drug_step = _hidden(r.text)
    vols = st.one_of(st.just(""), quantity_text(["mL", "uL"]))

    @FUZZ
    @given(st.one_of(st.just(""), quantity_text(["mg/mL", "mcg/mL"])), vols, vols,
           quantity_text(["mL"]))  # fmt: skip
    @example("nan mg/mL", "", "", "20 mL")
    @example("25 mg/mL", "inf mL", "0.2 mL", "20 mL")
    @example("25 mg/mL", "0.13 mL", "-0.2 mL", "20 mL")
    @example("", "", "", "1e999 mL")
    @example("", "", "", "NaN mL")
    def fuzz(conc: str, catheter: str, internal: str, filled: str) -> None:
        form = {**drug_step, "drug_lot": "LOT-FZ", "conc:morphine": conc,
                "catheter_volume": catheter, "internal_volume": internal}  # fmt: skip
        r = client.post(url, data=form)
        assert r.status_code in (200, 422), r.text
        if conc.strip() and refused(conc, Dimension.CONCENTRATION):
            assert r.status_code == 422 and field_label("refill.concentration.morphine") in shown(
                r.text
            )
        if r.status_code == 200:
            r = client.post(url, data={**_hidden(r.text), "filled": filled})
            assert r.status_code in (200, 422), r.text
            if refused(filled, V):
                assert r.status_code == 422 and field_label("refill.filled") in shown(r.text), (
                    r.text
                )
        with ctx.uow.reader() as repo:
            assert len(repo.refills_for(p.id)) == before  # nothing before the confirm

    fuzz()


def _version(page: str) -> str:
    m = re.search(r'name="version" value="([^"]+)"', page)
    assert m, page
    return m.group(1)


def _finite_plan(ctx: AppContext, plan: PlanFile) -> None:
    """A stored plan reads back, and its daily volume and doses are finite."""
    resolved = ctx.services.resolve(plan)
    daily = daily_dose(resolved.schedule, resolved.admixture, resolved.program.patient_bolus)
    assert math.isfinite(daily.nominal_volume.m)
    assert all(math.isfinite(q.m) for q in (*daily.nominal.values(), *daily.worst_case.values()))
