"""A program change from the web goes to the pump over its registered link: a virtual
implant served on 127.0.0.1 running the patient's current prescription. Confirmed: the
record gets the new version; refused by the pump: nothing changes; acknowledgement lost:
shown as uncertain and recorded as such; no link: the record changes, the pump does not."""

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login, version_of
from tests.web.served_implant import Served, served_fixture  # noqa: F401 (the fixture)
from thecal.api.context import AppContext
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.workflows import current_prescription
from thecal.programmer.commands import Op
from thecal.programmer.link_client import AckLost, LinkClient
from thecal.programmer.wire_program import program_to_json
from thecal.web.app import create_app


def _reasons(html: str) -> dict[str, str]:
    return dict.fromkeys(re.findall(r'name="(reason:[^"]+)"', html), "reviewed in clinic")


def _confirm(client: TestClient, pid: str, form: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_of(client, f"/patients/{pid}/program")
    form = {"csrf": token, **form}
    r = client.post(f"/patients/{pid}/program", data={**form, "step": "preview"})
    assert r.status_code == 200, r.text
    return client.post(f"/patients/{pid}/program",
                       data={**form, **_reasons(r.text), **version_of(r.text), "step": "confirm"},
                       follow_redirects=False)  # fmt: skip


def _active_dose_rate(served: Served) -> object:
    program = served.implant.peek().program  # type: ignore[attr-defined]
    return program_to_json(program)


def test_the_change_goes_to_the_pump_then_to_the_record(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx))  # the links come from the database
    login(client, "nurse")
    page = client.get(f"/patients/{served.pid}/program").text
    assert "is reachable over its link" in page
    before = _active_dose_rate(served)
    r = _confirm(client, served.pid, {"dose": "2.5 mg/d", "reason": "less sedation"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/patients/{served.pid}/program?saved=pump"
    assert "read back, verified and committed" in client.get(r.headers["location"]).text
    assert _active_dose_rate(served) != before  # the pump runs the new program
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, served.pid)
        (delivery,) = repo.link_deliveries_for(served.pid)
    assert rx is not None and rx.version == served.version + 1
    assert rx.plan().schedule.dose == "2.5 mg/d"
    assert delivery.outcome is DeliveryOutcome.CONFIRMED
    assert delivery.prescription_version == rx.version
    assert ctx.uow.verify_audit().ok


def test_a_refusal_by_the_pump_changes_nothing(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx))
    login(client, "physician")
    before = _active_dose_rate(served)
    # The alarm threshold at the reservoir's whole volume: the firmware refuses it (the alarm
    # must be below the reservoir).
    r = _confirm(client, served.pid, {"low_reservoir_alarm": "20 mL", "reason": "test"})
    assert r.status_code == 409, r.text
    assert "Not programmed" in r.text and "record still has prescription" in r.text
    assert _active_dose_rate(served) == before
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, served.pid)
        (delivery,) = repo.link_deliveries_for(served.pid)
    assert rx is not None and rx.version == served.version
    assert delivery.outcome is DeliveryOutcome.REFUSED
    assert "below the reservoir" in r.text  # the pump's own finding, shown


def test_a_lost_acknowledgement_is_uncertain(
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
    login(client, "nurse")
    r = _confirm(client, served.pid, {"dose": "2.5 mg/d", "reason": "less sedation"})
    assert r.status_code == 200, r.text
    assert "the pump may or may not run the new program: interrogate before anything else" in (
        r.text)  # fmt: skip
    assert "Interrogate" in r.text
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, served.pid)
        (delivery,) = repo.link_deliveries_for(served.pid)
    assert rx is not None and rx.version == served.version  # not recorded as in force
    assert (
        delivery.outcome is DeliveryOutcome.UNCERTAIN
        and "2.5 mg/d" in dict(delivery.payload)["plan"]
    )


def test_without_a_link_the_page_says_the_pump_was_not_programmed(
    ctx: AppContext, served: Served
) -> None:
    client = TestClient(create_app(ctx, {}))  # no links
    login(client, "nurse")
    assert "has no registered link" in client.get(f"/patients/{served.pid}/program").text
    before = _active_dose_rate(served)
    r = _confirm(client, served.pid, {"dose": "2.5 mg/d", "reason": "less sedation"})
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=record")
    assert "the pump was NOT programmed" in client.get(r.headers["location"]).text
    assert _active_dose_rate(served) == before
    with ctx.uow.reader() as repo:
        assert repo.link_deliveries_for(served.pid) == []
