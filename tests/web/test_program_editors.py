"""The program form's flex-schedule and patient-bolus editors: rows become the plan's steps,
the bolus fields its patient bolus (the check shows the worst-case daily dose), each bad
field is named, and the TOML box stays under "advanced"."""

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import login, refill_dry_demo_pump, version_of
from thecal.api.context import AppContext
from thecal.clinic.workflows import current_prescription
from thecal.units import InputError, field_label
from thecal.web.program_editor import apply_patient_bolus, apply_schedule


def _patient(ctx: AppContext) -> str:
    refill_dry_demo_pump(ctx)  # not a restart
    with ctx.uow.reader() as repo:
        return next(p.id for p in repo.list_patients() if p.mrn == "DEMO-0001")


def _form(client: TestClient, pid: str) -> dict[str, str]:
    """Every field of the entry form as the browser would post it (prefilled values)."""
    html = client.get(f"/patients/{pid}/program").text
    fields = dict(re.findall(r'<input[^>]* name="([^"]+)" value="([^"]*)"', html))
    fields = {k: v for k, v in fields.items() if k != "mode"}
    m = re.search(r'name="mode" value="(\w+)" checked', html)
    assert m, html
    return {**fields, "mode": m.group(1)}


def _store(client: TestClient, pid: str, form: dict[str, str]):  # type: ignore[no-untyped-def]
    r = client.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
    assert r.status_code == 200, r.text
    reasons = dict.fromkeys(re.findall(r'name="(reason:[^"]+)"', r.text), "reviewed (test)")
    return r, client.post(f"/patients/{pid}/program",
                          data={**form, **reasons, **version_of(r.text), "step": "confirm"},
                          follow_redirects=False)  # fmt: skip


def test_the_form_has_the_editors_and_the_toml_box_under_advanced(
    client: TestClient, ctx: AppContext
) -> None:
    pid = _patient(ctx)
    login(client, "physician")
    html = client.get(f"/patients/{pid}/program").text
    assert "Flex steps" in html and "Patient bolus" in html and "Most boluses in any 24 h" in html
    assert re.search(r"<details><summary>Advanced", html) and 'name="plan_toml"' in html
    assert 'for="pb-lockout"' in html and 'id="pb-lockout"' in html  # labelled fields


def test_physician_writes_a_flex_schedule_from_rows(client: TestClient, ctx: AppContext) -> None:
    pid = _patient(ctx)  # morphine 10 mg/mL, continuous 3 mg/d
    login(client, "physician")
    form = {**_form(client, pid), "mode": "flex", "reason": "more at night",
            "step_start_0": "00:00", "step_amount_0": "3 mg/d",
            "step_start_1": "00:00", "step_amount_1": "3 mg/d", "step_days_1": "sat sun",
            "step_start_2": "22:00", "step_amount_2": "0.4 mL/d",
            "step_days_2": "sat, sun"}  # fmt: skip
    preview, r = _store(client, pid, form)
    assert "flex" in preview.text and "daily dose (worst case)" in preview.text
    assert r.status_code == 303, r.text
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, pid)
    assert rx is not None
    steps = rx.plan().schedule.steps
    assert rx.plan().schedule.mode == "flex" and len(steps) == 3
    assert steps[0].dose == "3 mg/d" and steps[2].rate == "0.4 mL/d"
    assert steps[1].days == steps[2].days == ["sat", "sun"]


def test_patient_bolus_editor_and_its_worst_case(client: TestClient, ctx: AppContext) -> None:
    pid = _patient(ctx)
    login(client, "physician")
    form = {**_form(client, pid), "reason": "bolus for breakthrough pain",
            "pb_amount": "0.2 mg", "pb_duration": "10 min", "pb_lockout": "6 h",
            "pb_max_per_day": "3"}  # fmt: skip
    preview, r = _store(client, pid, form)
    # Worst case: 3 mg/d basal + 3 boluses of 0.2 mg = 3.6 mg/d.
    assert "3.6 mg/d" in preview.text, preview.text
    assert r.status_code == 303, r.text
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, pid)
    assert rx is not None and rx.plan().patient_bolus is not None
    pb = rx.plan().patient_bolus
    assert (pb.dose, pb.lockout, pb.max_per_day) == ("0.2 mg", "6 h", 3)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mode": "flex", "step_start_0": "00:00", "step_amount_0": "3 mg"},
         "schedule.steps[0].amount"),
        ({"mode": "flex", "step_start_0": "", "step_amount_0": "3 mg/d"},
         "schedule.steps[0].start"),
        ({"mode": "flex", "step_start_0": "00:00", "step_amount_0": "3 mg/d",
          "step_days_0": "monday"}, "schedule.steps[0].days"),
        ({"mode": "flex"}, "schedule.steps"),
        ({"pb_amount": "0.2 mg", "pb_duration": "", "pb_lockout": "4 h", "pb_max_per_day": "2"},
         "patient_bolus.duration"),
        ({"pb_amount": "0.2 mg", "pb_duration": "10 min", "pb_lockout": "4 h",
          "pb_max_per_day": "1.5"}, "patient_bolus.max_per_day"),
        ({"pb_amount": "NaN mg", "pb_duration": "10 min", "pb_lockout": "4 h",
          "pb_max_per_day": "2"}, "patient_bolus.amount"),
        ({"mode": "sideways"}, "schedule.mode"),
    ],
)  # fmt: skip
def test_a_bad_field_is_named(client: TestClient, ctx: AppContext, change: dict[str, str],
                              field: str) -> None:  # fmt: skip
    pid = _patient(ctx)
    login(client, "physician")
    form = {**_form(client, pid), "reason": "x", "step": "preview", **change}
    r = client.post(f"/patients/{pid}/program", data=form)
    assert r.status_code == 422 and field_label(field) in r.text, r.text


def test_editors_alone_clear_the_bolus_and_keep_continuous() -> None:
    data = {"schedule": {"mode": "continuous", "dose": "3 mg/d"},
            "patient_bolus": {"dose": "0.2 mg", "duration": "10 min", "lockout": "4 h",
                              "max_per_day": 2}}  # fmt: skip
    apply_schedule(data, {"mode": "continuous"})
    apply_patient_bolus(data, dict.fromkeys(("pb_amount", "pb_duration", "pb_lockout",
                                             "pb_max_per_day"), ""))  # fmt: skip
    assert data == {"schedule": {"mode": "continuous", "dose": "3 mg/d"}}
    with pytest.raises(InputError):  # flex -> continuous is the advanced box's job
        apply_schedule({"schedule": {"mode": "flex", "steps": []}}, {"mode": "continuous"})
