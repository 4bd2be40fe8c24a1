"""The refill wizard's concentration change: the drug step takes a new concentration, the
wizard computes the program that keeps the daily dose and the bridge bolus, and shows them as
a preview that is NOT sent (nothing goes to the pump, nothing is recorded)."""

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.web.conftest import csrf_of, login
from tests.web.served_implant import Served, served_fixture  # noqa: F401 (the fixture)
from tests.web.test_refill_wizard import _hidden, _refills
from thecal.api.context import AppContext
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.program_delivery import PumpWrite
from thecal.clinic.refill_concentration import concentration_change, entered_concentrations
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.compare import equal
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan_file import PlanFile
from thecal.units import Q_, InputError, field_label
from thecal.web import pages_refill_wizard
from thecal.web.app import create_app


def _to_drug_step(client: TestClient, pid: str) -> Any:
    url = f"/patients/{pid}/refill-wizard"
    r = client.post(url, data={"csrf": csrf_of(client, url), "step": "interrogate"})
    r = client.post(url, data={**_hidden(r.text), "withdrawn": "0 mL"})
    assert r.status_code == 200 and "New concentration" in r.text, r.text
    return r


def _drug(client: TestClient, pid: str, page: Any, **fields: str) -> Any:
    data = {**_hidden(page.text), "drug_lot": "LOT-C1", **fields}
    return client.post(f"/patients/{pid}/refill-wizard", data=data)


def _deliveries(ctx: AppContext, pid: str) -> int:
    with ctx.uow.reader() as repo:
        return len(repo.link_deliveries_for(pid))


FIELDS = {"conc:morphine": "25 mg/mL", "catheter_volume": "0.13 mL", "internal_volume": "0.2 mL"}


def _to_review(client: TestClient, pid: str) -> Any:
    r = _drug(client, pid, _to_drug_step(client, pid), **FIELDS)
    assert r.status_code == 200 and "Filled into the reservoir" in r.text, r.text
    r = client.post(f"/patients/{pid}/refill-wizard", data={**_hidden(r.text), "filled": "20 mL"})
    assert r.status_code == 200 and "Review and confirm" in r.text
    return r


def _with_reasons(text: str) -> dict[str, str]:
    """The review's hidden fields and a reason for every required reason field."""
    names = set(re.findall(r'name="(reason:[^"]+)"[^>]*required', text))
    return {**_hidden(text), **dict.fromkeys(names, "checked (test)"), "step": "confirm"}


def test_new_concentration_is_sent_refill_program_bridge_and_recorded(
    ctx: AppContext, served: Served
) -> None:
    client = TestClient(create_app(ctx))
    login(client, "physician")
    pid, url = served.pid, f"/patients/{served.pid}/refill-wizard"
    before = _refills(ctx, pid)
    # DEMO-0001: morphine 10 mg/mL, continuous 3 mg/d; the new fill is 25 mg/mL.
    text = _to_review(client, pid).text
    # old rate = 3 mg/d ÷ 10 mg/mL = 0.3 mL/d; new rate = 3 mg/d ÷ 25 mg/mL = 0.12 mL/d
    assert "0.3 mL/d × 10 mg/mL = 3 mg/d; new rate = 3 mg/d ÷ 25 mg/mL = 0.12 mL/d" in text
    assert re.search(r'class="new-rate">0\.12 mL/d<', text)
    # dead volume = 0.2 mL (pump tubing, entered) + 0.13 mL (catheter) = 0.33 mL;
    # bridge rate = 3 mg/d ÷ OLD 10 mg/mL = 0.3 mL/d for 0.33 mL ÷ 0.3 mL/d = 1.1 d = 26.4 h;
    # without it: 0.33 mL ÷ 0.12 mL/d = 2.75 d = 66 h at 10 mg/mL × 0.12 mL/d = 1.2 mg/d.
    assert re.search(r'class="bridge-rate">0\.3 mL/d<', text)
    assert re.search(r'class="bridge-duration">26\.4 h<', text)
    assert "0.33 mL" in text and "66 h" in text and "BRIDGE-BOLUS" in text
    # The bolus on top of the new basal: (0.3 − 0.12) mL/d × 26.4 h (1.1 d) = 0.198 mL.
    assert "= 0.198 mL over 26.4 h" in text and "against the reservoir AFTER the refill" in text
    assert "PROGRAM-RESERVOIR-ADMIXTURE" not in text  # judged on the new fill, not the old
    r = client.post(url, data=_with_reasons(text), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "saved=pump-change" in r.headers["location"]
    record = client.get(r.headers["location"]).text
    with ctx.uow.reader() as repo:
        refill = repo.refills_for(pid)[-1]
    assert _refills(ctx, pid) == before + 1
    assert refill.concentrations == (("morphine", "25 mg/mL"),)
    assert "morphine 10 mg/mL → 25 mg/mL" in record
    assert re.search(r'class="old-rate">0\.3 mL/d<', record)
    assert re.search(r'class="new-rate">0\.12 mL/d<', record)
    assert "0.198 mL over 26.4 h" in record
    with ctx.uow.reader() as repo:
        deliveries = {d.what: d for d in repo.link_deliveries_for(pid)}
        rx = repo.prescriptions_for(pid)[-1]
    assert {w: d.outcome.value for w, d in deliveries.items()} == dict.fromkeys(
        ("refill", "program", "bridge"), "confirmed"), deliveries  # fmt: skip
    assert rx.version == served.version + 1 == refill.prescription_version
    # The pump runs the new program: 25 mg/mL at 0.12 mL/d.
    program = served.implant.peek().program
    assert program is not None
    assert equal(program.admixture.ingredients[0].concentration, Q_(25, "mg/mL"))


@pytest.mark.parametrize("outcome", [DeliveryOutcome.REFUSED, DeliveryOutcome.UNCERTAIN])
def test_refused_program_after_a_confirmed_refill_says_reprogram_now(
    ctx: AppContext, served: Served, monkeypatch: pytest.MonkeyPatch, outcome: DeliveryOutcome
) -> None:
    """The pump takes the refill (25 mg/mL) but refuses the program: the refill is recorded
    with the new concentration, the prescription is not, no bridge is sent, and the record
    says the pump runs the OLD program at the NEW concentration."""

    def refuse(*_: Any) -> PumpWrite:
        return PumpWrite(outcome, f"{outcome.value} (test)")

    monkeypatch.setattr(pages_refill_wizard, "write_program", refuse)
    client = TestClient(create_app(ctx))
    login(client, "physician")
    pid, url = served.pid, f"/patients/{served.pid}/refill-wizard"
    r = client.post(url, data=_with_reasons(_to_review(client, pid).text), follow_redirects=False)
    assert r.status_code == 303 and "saved=old-program" in r.headers["location"], r.text
    record = client.get(r.headers["location"]).text
    assert "The pump still runs the OLD program at the NEW concentration: reprogram now." in record
    if outcome is DeliveryOutcome.UNCERTAIN:
        assert "it may or may not run the new program: interrogate before anything else" in record
    assert "NOT recorded: the prescription is unchanged" in record
    with ctx.uow.reader() as repo:
        refill = repo.refills_for(pid)[-1]
        rx = repo.prescriptions_for(pid)[-1]
        deliveries = {d.what: d.outcome.value for d in repo.link_deliveries_for(pid)}
    assert refill.concentrations == (("morphine", "25 mg/mL"),) and rx.version == served.version
    assert deliveries == {"refill": "confirmed", "program": outcome.value}
    program = served.implant.peek().program
    assert program is not None
    assert equal(program.admixture.ingredients[0].concentration, Q_(10, "mg/mL"))


def test_without_a_link_both_are_recorded_and_the_pump_is_not_programmed(
    ctx: AppContext, served: Served
) -> None:
    client = TestClient(create_app(ctx, {}))
    login(client, "physician")
    pid, url = served.pid, f"/patients/{served.pid}/refill-wizard"
    page = client.get(url)
    r = client.post(url, data={"csrf": csrf_of(client, url), "step": "withdraw",
                               "withdrawn": "0 mL"})  # fmt: skip
    r = _drug(client, pid, r, **FIELDS)
    r = client.post(url, data={**_hidden(r.text), "filled": "20 mL"})
    assert "the pump is NOT programmed" in r.text and page.status_code == 200
    r = client.post(url, data=_with_reasons(r.text), follow_redirects=False)
    assert r.status_code == 303 and "saved=record-change" in r.headers["location"], r.text
    record = client.get(r.headers["location"]).text
    assert "The pump was NOT programmed (no link)" in record
    assert "bridge bolus NOT sent: give it with the clinician programmer" in record
    with ctx.uow.reader() as repo:
        assert repo.prescriptions_for(pid)[-1].version == served.version + 1
        assert repo.link_deliveries_for(pid) == []


def test_concentration_fields_are_checked_at_the_drug_step(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx))
    login(client, "physician")
    pid = served.pid
    page = _to_drug_step(client, pid)
    bad = _drug(client, pid, page, **{"conc:morphine": "lots"})
    assert bad.status_code == 422 and field_label("refill.concentration.morphine") in bad.text
    assert "Drug lot" in bad.text  # the drug step again
    zero = _drug(client, pid, page, **{"conc:morphine": "0 mg/mL"})
    assert zero.status_code == 422 and "greater than zero" in zero.text
    # DEMO-0001's prescription has no catheter volume: the bridge needs it (edge: required).
    no_catheter = _drug(client, pid, page, **{"conc:morphine": "25 mg/mL"})
    assert (
        no_catheter.status_code == 422 and field_label("refill.catheter_volume") in no_catheter.text
    )
    # Prometra II's internal volume is not public: required too.
    no_internal = _drug(client, pid, page, **{"conc:morphine": "25 mg/mL",
                                               "catheter_volume": "0.13 mL"})  # fmt: skip
    assert (
        no_internal.status_code == 422 and field_label("refill.internal_volume") in no_internal.text
    )
    # The same concentration typed in another unit is no change (no bridge, no preview).
    same = _drug(client, pid, page, **{"conc:morphine": "10000 mcg/mL"})
    assert same.status_code == 200 and "New concentration: program and bridge" not in same.text
    assert _deliveries(ctx, pid) == 0


def _plan(rate: str, conc: str, bolus: str | None = None) -> PlanFile:
    data: dict[str, Any] = {
        "at": "2025-06-02T09:00:00", "pump": {"model": "Prometra II 20 mL"},
        "patient": {"opioid_naive": False},
        "admixture": [{"drug": "morphine", "concentration": conc}],
        "schedule": {"mode": "continuous", "rate": rate},
    }  # fmt: skip
    if bolus is not None:
        data["patient_bolus"] = {"volume": bolus, "duration": "10 min", "lockout": "4 h",
                                 "max_per_day": 2}  # fmt: skip
    return PlanFile.model_validate(data)


VOLUMES = {"catheter_volume": Q_(0.13, "mL"), "internal_volume": Q_(0.2, "mL")}


def test_a_rate_program_is_rescaled_to_the_same_dose(
    library: DrugLibrary, catalog: DeviceCatalog
) -> None:
    # 0.5 mL/d × 10 mg/mL = 5 mg/d; at 25 mg/mL: 5 mg/d ÷ 25 mg/mL = 0.2 mL/d (× 10/25 = 0.4);
    # the patient bolus 0.05 mL × 0.4 = 0.02 mL (the same 0.5 mg).
    plan = _plan("0.5 mL/d", "10 mg/mL", "0.05 mL")
    c = concentration_change(plan, {"morphine": Q_(25, "mg/mL")}, library, catalog, **VOLUMES)
    assert c is not None
    assert equal(c.new_rate, Q_(0.2, "mL/d")) and equal(c.daily_dose, Q_(5, "mg/d"))
    written = c.plan.to_typed()  # the new program, read back from its file form
    assert written.schedule.rate is not None and equal(written.schedule.rate, Q_(0.2, "mL/d"))
    assert equal(written.admixture[0].concentration, Q_(25, "mg/mL"))
    bolus = written.patient_bolus
    assert bolus is not None and bolus.volume is not None and equal(bolus.volume, Q_(0.02, "mL"))
    # bridge 5 mg/d ÷ 10 mg/mL = 0.5 mL/d for 0.33 mL ÷ 0.5 mL/d = 0.66 d = 15.84 h
    assert c.bridge.program is not None
    assert equal(c.bridge.program.duration, Q_(15.84, "h"))
    # No change (the same concentration in mcg/mL): None, no bridge.
    assert concentration_change(plan, {"morphine": Q_(10000, "mcg/mL")}, library, catalog) is None
    with pytest.raises(InputError, match=r"refill\.concentration"):  # not in the admixture
        entered_concentrations({"conc:baclofen": "2 mg/mL"}, plan)


@settings(max_examples=25, deadline=None)
@given(
    rate=st.floats(0.05, 1.0), old=st.floats(1.0, 50.0), new=st.floats(1.0, 50.0),
)  # fmt: skip
def test_the_daily_dose_and_the_bridge_dose_are_held(
    library: DrugLibrary, catalog: DeviceCatalog, rate: float, old: float, new: float
) -> None:
    """Invariant: new rate × new concentration = old rate × old concentration (the daily dose),
    and the bridge at the OLD concentration delivers that same dose rate."""
    assume(abs(new - old) > 1e-6 * old)
    plan = _plan(f"{rate:.6g} mL/d", f"{old:.6g} mg/mL")
    c = concentration_change(
        plan, {"morphine": Q_(float(f"{new:.6g}"), "mg/mL")}, library, catalog, **VOLUMES
    )
    assert c is not None and c.bridge.program is not None
    before = c.old_rate * Q_(float(f"{old:.6g}"), "mg/mL")
    after = c.new_rate * Q_(float(f"{new:.6g}"), "mg/mL")
    # The rescaled rate is written with 6 significant figures: held to 5e-6 relative.
    assert after.to("mg/d").magnitude == pytest.approx(before.to("mg/d").magnitude, rel=1e-5)
    bridged = c.bridge.program.rate * c.bridge.program.old_concentration
    assert bridged.to("mg/d").magnitude == pytest.approx(before.to("mg/d").magnitude, rel=1e-5)
