"""Stimulator pages: the patient page of both case-report patients, the impedance chart, and
the stimulator program page (versions, a change through the gate with a reason, roles)."""

import json
import re

from fastapi.testclient import TestClient

from thecal.api.context import AppContext

from .conftest import csrf_of, login


def _patient(ctx: AppContext, mrn: str) -> str:
    return next(p.id for p in ctx.services.patients() if p.mrn == mrn)


def _in_place(ctx: AppContext, pid: str):
    return next(s for s in ctx.services.stimulator_summary(patient_id=pid) if s.device.in_place)


def test_pump_and_stimulator_on_one_page(client: TestClient, ctx: AppContext) -> None:
    login(client, "viewer")
    pid = _patient(ctx, "SEED-000")
    html = client.get(f"/patients/{pid}").text
    # The pump's program and refills, and both stimulators (the removed one with its history).
    assert "Prescription v" in html and "Refill history" in html
    assert html.count('class="stimulator"') == 2
    assert "Medtronic primary-cell SCS IPG" in html and "Vectris 977A2" in html
    # Per-contact charge from the core: 3.5 mA x 300 us = 1.05 uC on 0.12252 cm2 = 8.57 uC/cm2
    # (k = log10 8.57 + log10 1.05 = 0.933 + 0.021 = 0.95).
    assert "8.57" in html and "0.95" in html
    assert "STIM-IMPEDANCE-RISING" in html  # the removed generator's slow rise
    assert "registry median" in html and "end-of-service voltage" in html
    s = _in_place(ctx, pid)
    svg = client.get(f"/patients/{pid}/stimulators/{s.device.id}/impedance.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "rolling mean" in svg.text and "L1:0" in svg.text


def test_dialysis_patient_page_is_no_longer_empty(client: TestClient, ctx: AppContext) -> None:
    login(client, "viewer")
    pid = _patient(ctx, "SEED-001")
    html = client.get(f"/patients/{pid}").text
    assert (
        "Medtronic primary-cell SCS IPG" in html
        and "Proclaim XR" not in html
        and "relocated generator" in html
    )
    # The rise continues after the 2024 relocation: a finding on the generator in place.
    s = _in_place(ctx, pid)
    assert any(f.code.value == "STIM-IMPEDANCE-RISING" for f in s.findings)
    assert "No program recorded" not in html


def test_unknown_stimulator_is_404(client: TestClient, ctx: AppContext) -> None:
    login(client, "viewer")
    pid = _patient(ctx, "SEED-000")
    assert client.get(f"/patients/{pid}/stimulators/nope/program").status_code == 404
    assert client.get(f"/patients/{pid}/stimulators/nope/impedance.svg").status_code == 404
    other = _patient(ctx, "SEED-001")
    s = _in_place(ctx, other)  # another patient's stimulator is not under this patient
    assert client.get(f"/patients/{pid}/stimulators/{s.device.id}/program").status_code == 404


def _propose(client: TestClient, url: str, program: dict, reason: str = "less paresthesia"):
    token = csrf_of(client, url)
    r = client.post(url, data={"csrf": token, "step": "preview", "reason": reason,
                               "program_json": json.dumps(program)})  # fmt: skip
    return r


def test_change_through_the_gate_with_a_reason(client: TestClient, ctx: AppContext) -> None:
    login(client, "physician")
    pid = _patient(ctx, "SEED-001")
    s = _in_place(ctx, pid)
    url = f"/patients/{pid}/stimulators/{s.device.id}/program"
    page = client.get(url).text
    assert "Versions" in page and "program_json" in page
    program = json.loads(s.programs[-1].program_json)
    # An amplitude that puts k above 1.5: Q = 7 mA x 300 us = 2.1 uC, D = 17.1 uC/cm2,
    # k = log10 17.1 + log10 2.1 = 1.23 + 0.32 = 1.56 > 1.5: hard, cannot be stored.
    program["areas"][0]["amplitude"] = program["areas"][0]["patient_max"] = "7 mA"
    r = _propose(client, url, program)
    assert r.status_code == 200 and "STIM-K-MAX" in r.text and "cannot be stored" in r.text
    assert "1.56" in r.text  # the proposed program's k in its per-contact table
    # 3 mA is fine: confirm stores version 2, with the author and reason.
    program["areas"][0]["amplitude"] = program["areas"][0]["patient_max"] = "3 mA"
    r = _propose(client, url, program)
    assert "Confirm and store version 2" in r.text
    # 3 mA x 300 us = 0.9 uC; D = 0.9 / 0.12252 = 7.35 uC/cm2; k = 0.866 - 0.046 = 0.82.
    assert "0.82" in r.text
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', r.text))
    form["step"] = "confirm"
    import html as html_lib

    form = {k: html_lib.unescape(v) for k, v in form.items()}
    done = client.post(url, data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    after = _in_place(ctx, pid)
    assert after.programs[-1].version == 2 and after.programs[-1].author == "physician"
    assert after.programs[-1].reason == "less paresthesia"


def test_roles_on_the_program_page(client: TestClient, ctx: AppContext) -> None:
    pid = _patient(ctx, "SEED-001")
    s = _in_place(ctx, pid)
    url = f"/patients/{pid}/stimulators/{s.device.id}/program"
    program = json.loads(s.programs[-1].program_json)
    login(client, "nurse")
    program["areas"][0]["patient_max"] = "4 mA"  # above the current 3.5 mA: a physician's
    r = _propose(client, url, program)
    assert r.status_code == 403 and "top of the patient&#39;s range" in r.text
    r = _propose(client, url, {"ipg": {}})
    assert r.status_code == 422 and "Program IPG model" in r.text
