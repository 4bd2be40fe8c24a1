"""The API's program change goes to the pump over its registered link, as the program page
does: a virtual implant served on 127.0.0.1 running the patient's current prescription.
Confirmed: 201 and the new version; refused by the pump: 409, nothing changed; acknowledgement
lost: 202 "uncertain", the record unchanged; no link: 201 "not-programmed"."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.served_implant import Served, served_fixture  # noqa: F401 (the fixture)
from thecal.api.context import AppContext
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.workflows import current_prescription
from thecal.programmer.commands import Op
from thecal.programmer.link_client import AckLost, LinkClient
from thecal.programmer.wire_program import program_to_json
from thecal.web.app import create_app


def _login(client: TestClient, who: str) -> str:
    r = client.post("/api/v1/login", json={"username": who, "password": f"demo-{who}"})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def _change(client: TestClient, token: str, pid: str, **changes: Any) -> Any:
    """Post the current plan with ``schedule``/``pump`` fields replaced."""
    p = client.get(f"/api/v1/patients/{pid}").json()
    plan = {k: v for k, v in p["prescription"]["plan"].items() if v is not None}
    for part, fields in changes.items():
        plan[part] = {**plan[part], **fields}
    body = {"plan": plan, "reason": "api test", "patient_version": p["version"]}
    return client.post(f"/api/v1/patients/{pid}/program", json=body,
                       headers={"X-CSRF-Token": token})  # fmt: skip


def _running(served: Served) -> object:
    return program_to_json(served.implant.peek().program)


def test_api_change_goes_to_the_pump_then_to_the_record(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx))  # the links come from the database
    token = _login(client, "nurse")
    before = _running(served)
    r = _change(client, token, served.pid, schedule={"dose": "2.5 mg/d"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["delivery"] == "confirmed" and out["version"] == served.version + 1
    assert _running(served) != before  # the pump runs the new program
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, served.pid)
        (delivery,) = repo.link_deliveries_for(served.pid)
    assert rx is not None and rx.version == served.version + 1
    assert rx.plan().schedule.dose == "2.5 mg/d"
    assert delivery.outcome is DeliveryOutcome.CONFIRMED
    assert delivery.prescription_version == rx.version
    assert ctx.uow.verify_audit().ok


def test_api_refusal_by_the_pump_changes_nothing(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx))
    token = _login(client, "physician")
    before = _running(served)
    # The alarm threshold at the reservoir's whole volume (20 mL, the Prometra II's): the
    # firmware refuses it (the alarm must be below the reservoir).
    r = _change(client, token, served.pid, pump={"low_reservoir_alarm": "20 mL"})
    assert r.status_code == 409, r.text
    out = r.json()
    assert out["delivery"] == "refused" and out["version"] == served.version
    assert "below the reservoir" in r.text  # the pump's own finding
    assert _running(served) == before
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, served.pid)
        (delivery,) = repo.link_deliveries_for(served.pid)
    assert rx is not None and rx.version == served.version
    assert delivery.outcome is DeliveryOutcome.REFUSED


def test_api_lost_acknowledgement_is_uncertain(
    ctx: AppContext, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_call = LinkClient.call

    def call(self: LinkClient, op: Op, args: object = None, **kw: object) -> object:
        reply = real_call(self, op, args, **kw)  # type: ignore[arg-type]
        if op is Op.PROGRAM_COMMIT:  # the pump ran the commit; its answer never arrives
            raise AckLost(self.sent[-1], "test: acknowledgement dropped")
        return reply

    monkeypatch.setattr(LinkClient, "call", call)
    client = TestClient(create_app(ctx))
    token = _login(client, "nurse")
    r = _change(client, token, served.pid, schedule={"dose": "2.5 mg/d"})
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["delivery"] == "uncertain" and out["version"] == served.version
    assert "interrogate" in out["delivery_detail"].lower()
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, served.pid)
        (delivery,) = repo.link_deliveries_for(served.pid)
    assert rx is not None and rx.version == served.version  # not recorded as in force
    assert delivery.outcome is DeliveryOutcome.UNCERTAIN


def test_api_without_a_link_changes_the_record_only(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx, {}))  # no links
    token = _login(client, "nurse")
    before = _running(served)
    r = _change(client, token, served.pid, schedule={"dose": "2.5 mg/d"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["delivery"] == "not-programmed" and out["version"] == served.version + 1
    assert "NOT programmed" in out["delivery_detail"]
    assert _running(served) == before
    with ctx.uow.reader() as repo:
        assert repo.link_deliveries_for(served.pid) == []


def test_api_viewer_never_reaches_the_pump(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx))
    token = _login(client, "viewer")
    before = _running(served)
    r = _change(client, token, served.pid, schedule={"dose": "2.5 mg/d"})
    assert r.status_code == 403, r.text
    assert _running(served) == before
    with ctx.uow.reader() as repo:
        assert repo.link_deliveries_for(served.pid) == []
