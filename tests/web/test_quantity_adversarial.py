"""Adversarial quantities through the web forms (refill: live preview, review, confirm;
program change: review, confirm). Every answer is a page or fragment (never a 500); a value the
parser refuses is shown naming its field; whatever is stored is finite, and the charts draw
afterwards."""

import html
import math
import re

from fastapi.testclient import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.quantity_inputs import quantity_text
from tests.web.conftest import csrf_of, login
from thecal.api.context import AppContext
from thecal.clinic.calendar import refill_calendar
from thecal.clinic.workflows import current_prescription
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
