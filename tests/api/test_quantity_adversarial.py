"""Adversarial quantities through the JSON API (refill and program POSTs): 201, 409 (findings)
or 422 naming the field; never a 500; JSON NaN / Infinity / 1e999 in a body are 422 before
any route; whatever is stored reads back with finite numbers only."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.quantity_inputs import all_finite, numbers, quantity_text, strict_loads
from thecal.api.context import AppContext
from thecal.api.strict_json import non_finite_problem
from thecal.units import Dimension, InputError, parse_quantity
from thecal.units.table import UNITS

FUZZ = settings(max_examples=25, deadline=None)
units = st.sampled_from([*UNITS, "gallon", "L", "cc", "mL ** 9", "1", ""])


def refused(text: str, dim: Dimension) -> bool:
    try:
        parse_quantity(text, "x", dim)
    except InputError:
        return True
    return False


def _login(client: TestClient, who: str) -> str:
    r = client.post("/api/v1/login", json={"username": who, "password": f"demo-{who}"})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def _patient(client: TestClient) -> dict[str, Any]:
    cal = client.get("/api/v1/calendar").json()
    pid = next(e["patient_id"] for e in cal["entries"] if e["due"])
    return dict(client.get(f"/api/v1/patients/{pid}").json())


def _version(client: TestClient, pid: str) -> int:
    return int(client.get(f"/api/v1/patients/{pid}").json()["version"])


def _post(client: TestClient, url: str, token: str, body: Any) -> Any:
    # allow_nan: send what an attacker sends (Python's json writes NaN and Infinity literals).
    headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
    return client.post(url, content=json.dumps(body, allow_nan=True), headers=headers)


def _stored_is_finite(client: TestClient, pid: str) -> None:
    r = client.get(f"/api/v1/patients/{pid}")
    assert r.status_code == 200 and all_finite(strict_loads(r.text))


@pytest.mark.parametrize(
    "raw",
    [b'{"withdrawn": {"value": NaN, "unit": "mL"}}', b'{"x": Infinity}', b'{"x": -Infinity}',
     b'{"x": [1e999]}', b'{"x": {"y": -1e400}}'],
)  # fmt: skip
def test_non_finite_json_literals_are_refused_before_any_route(
    client: TestClient, raw: bytes
) -> None:
    token = _login(client, "nurse")
    url = f"/api/v1/patients/{_patient(client)['id']}/refills"
    r = client.post(url, content=raw, headers={"X-CSRF-Token": token,
                                               "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"
    assert non_finite_problem(raw) is not None
    assert non_finite_problem(b'{"x": 1e308, "y": "NaN"}') is None  # finite; a string is text
    assert non_finite_problem(b"not json") is None  # the route's own parser answers that


def test_refill(client: TestClient, ctx: AppContext) -> None:
    # The physician: the due demo pump ran dry, and only a physician gives the restart reason
    # (a nurse's valid refill would be a 403 here, which is not what this test is about).
    token = _login(client, "physician")
    p = _patient(client)
    url = f"/api/v1/patients/{p['id']}/refills"

    @FUZZ
    @given(st.one_of(numbers, st.sampled_from(["nan", "inf", "2.5", "1e999"])), units,
           st.sampled_from(["withdrawn", "filled", "confirmed_after_fill"]))  # fmt: skip
    @example(float("nan"), "mL", "withdrawn")
    @example("NaN", "mL", "withdrawn")
    @example(4, "gallon", "withdrawn")
    @example(5, "mL * 9**9**9", "withdrawn")
    @example(-1, "mL", "filled")
    def fuzz(value: Any, unit: str, name: str) -> None:
        body: dict[str, Any] = {"withdrawn": {"value": 1.5, "unit": "mL"}, "drug_lot": "LOT-API",
                                "filled": {"value": 20, "unit": "mL"}}  # fmt: skip
        body[name] = {"value": value, "unit": unit}
        body["patient_version"] = _version(client, p["id"])  # each stored write moves it on
        r = _post(client, url, token, body)
        assert r.status_code in (201, 409, 422), r.text
        if r.status_code == 422:
            field = r.json()["detail"][0]["field"]
            # "body": a non-finite literal; else the field: "refill.withdrawn.value" (parser),
            # "withdrawn.value" (the request model), "fill.volume" (a later range check).
            assert field == "body" or name in field or field.startswith("fill"), r.text
        _stored_is_finite(client, p["id"])

    fuzz()


def test_program(client: TestClient, ctx: AppContext) -> None:
    token = _login(client, "physician")
    p = _patient(client)
    url = f"/api/v1/patients/{p['id']}/program"
    plan = {k: v for k, v in p["prescription"]["plan"].items() if v is not None}
    key = "dose" if plan["schedule"].get("dose") else "rate"
    units = ["mg/d", "mcg/d"] if key == "dose" else ["mL/d", "mL/h"]
    dim = Dimension.DOSE_RATE if key == "dose" else Dimension.FLOW_RATE

    @FUZZ
    @given(st.one_of(quantity_text(units), numbers))
    @example("nan mg/d")
    @example("inf mL/d")
    @example(float("inf"))
    @example("2,5 mg/d")
    def fuzz(value: Any) -> None:
        body = {"plan": dict(plan, schedule=dict(plan["schedule"], **{key: value})),
                "reason": "fuzz", "patient_version": _version(client, p["id"])}  # fmt: skip
        r = _post(client, url, token, body)
        assert r.status_code in (201, 409, 422), r.text
        if r.status_code == 422:
            field = r.json()["detail"][0]["field"]
            assert field, r.text
            if isinstance(value, str) and refused(value, dim):  # else a later check, named
                assert field == f"plan.schedule.{key}", r.text
            if not isinstance(value, str):  # a number (or a NaN literal) where text belongs
                assert field in ("body", f"plan.schedule.{key}"), r.text
        _stored_is_finite(client, p["id"])

    fuzz()


def test_procedure_catheter_length(client: TestClient) -> None:
    """The registration API's catheter length ({value, unit}): 201 or 422 naming
    ``placed[0].length`` (or ``body`` for a non-finite literal); stored lengths are finite."""
    token = _login(client, "physician")
    made = client.post("/api/v1/patients", headers={"X-CSRF-Token": token}, json={
        "mrn": "FUZZ-API-CATH", "name": "Fuzz", "date_of_birth": "1960-01-01",
        "sex": "male"}).json()  # fmt: skip
    url = f"/api/v1/patients/{made['id']}"

    @FUZZ
    @given(st.one_of(numbers, st.sampled_from(["nan", "45", "1e999"])), units)
    @example(float("nan"), "cm")
    @example(float("inf"), "cm")
    @example(110.0001, "cm")
    @example(45, "mL")
    @example(-45, "cm")
    def fuzz(value: Any, unit: str) -> None:
        body = {"kind": "implant", "performed_on": "2026-11-20",
                "patient_version": _version(client, made["id"]),
                "placed": [{"kind": "catheter", "model": "Prometra catheter", "tip_level": "T10",
                            "length": {"value": value, "unit": unit}}]}  # fmt: skip
        r = _post(client, f"{url}/procedures", token, body)
        assert r.status_code in (201, 422), r.text
        if r.status_code == 422:
            field = r.json()["detail"][0]["field"]
            # "placed[0].length" (the service), "placed.0.length.value" (the request model)
            assert field == "body" or field.replace(".0.", "[0].").startswith("placed[0].length"), (
                r.text
            )
        reg = client.get(f"{url}/registration")
        assert reg.status_code == 200 and all_finite(strict_loads(reg.text))

    fuzz()


def test_first_prescription(client: TestClient, ctx: AppContext) -> None:
    """The first prescription's concentration, fill volume and catheter volume in the plan
    (a new patient with a pump after each stored one): 201, 409 or 422 naming the field."""
    from tests.api.test_program_first_api import PLAN, _implanted

    pid, headers = _implanted(client)
    token = headers["X-CSRF-Token"]
    made = iter(range(1, 1000))

    @FUZZ
    @given(st.one_of(quantity_text(["mg/mL", "mcg/mL"]), numbers), quantity_text(["mL"]),
           st.one_of(quantity_text(["mL"]), numbers))  # fmt: skip
    @example("nan mg/mL", "20 mL", "0.1 mL")
    @example("10 mg/mL", "inf mL", "0.1 mL")
    @example("10 mg/mL", "20 mL", float("nan"))
    @example("10 mg/mL", "-20 mL", "0.1 mL")
    @example(10, "20 mL", "0.1 mL")
    def fuzz(conc: Any, fill: str, catheter: Any) -> None:
        nonlocal pid, token
        plan = {**PLAN, "admixture": [{"drug": "morphine", "concentration": conc}],
                "fill": {**PLAN["fill"], "volume": fill},
                "catheter": {"model": "Prometra catheter", "volume": catheter}}  # fmt: skip
        body = {"plan": plan, "reason": "fuzz", "patient_version": _version(client, pid)}
        r = _post(client, f"/api/v1/patients/{pid}/program", token, body)
        assert r.status_code in (201, 409, 422), r.text
        if r.status_code == 422:
            field = r.json()["detail"][0]["field"]
            assert field == "body" or field.startswith("plan."), r.text
            # A value the parser refuses (or a number where text belongs) is named.
            bad = [f"plan.{f}" for f, v, dim in (
                ("admixture[0].concentration", conc, Dimension.CONCENTRATION),
                ("fill.volume", fill, Dimension.VOLUME),
                ("catheter.volume", catheter, Dimension.VOLUME),
            ) if not isinstance(v, str) or refused(v, dim)]  # fmt: skip
            if bad:
                assert field == "body" or field.startswith(tuple(bad)), r.text
        _stored_is_finite(client, pid)
        if r.status_code == 201:  # the next example needs a patient without a prescription
            client.post("/api/v1/logout", headers={"X-CSRF-Token": token})
            pid, headers = _implanted(client, f"API-FIRST-F{next(made)}")
            token = headers["X-CSRF-Token"]

    fuzz()
