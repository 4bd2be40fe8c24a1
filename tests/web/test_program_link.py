"""A program change from the web goes to the pump over its registered link: a virtual
implant served on 127.0.0.1 running the patient's current prescription. Confirmed: the
record gets the new version; refused by the pump: nothing changes; acknowledgement lost:
shown as uncertain and recorded as such; no link: the record changes, the pump does not."""

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login, refill_dry_demo_pump, version_of
from thecal.adapters.implant_server import DeviceInputs, implant_from_plan, make_server
from thecal.api.context import AppContext
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.workflows import current_prescription, pump_in_place
from thecal.link.keystore import provision_implant, role_credential
from thecal.link.roles import Role
from thecal.link.transport import TcpListener
from thecal.programmer.commands import Op
from thecal.programmer.link_client import AckLost, LinkClient
from thecal.programmer.wire_program import program_to_json
from thecal.units import Q_
from thecal.web.app import create_app


@dataclass
class Served:
    pid: str
    serial: str
    version: int
    implant: Any  # the served ImplantDevice


@pytest.fixture
def served(ctx: AppContext, tmp_path: Path) -> Iterator[Served]:
    """DEMO-0001 (refilled, so a change is not a restart) with its pump served over the link
    and the link registered by the physician."""
    refill_dry_demo_pump(ctx)
    with ctx.uow.reader() as repo:
        p = next(p for p in repo.list_patients() if p.mrn == "DEMO-0001")
        pump = pump_in_place(repo, p.id)
        rx = current_prescription(repo, p.id)
        physician = repo.user_by_name("physician")
    assert pump is not None and rx is not None and physician is not None
    secret = provision_implant(tmp_path / "implant.key", pump.serial)
    # Test inputs (not public): the alarm repeats of DEMO-0001's Prometra II.
    inputs = DeviceInputs(pump.serial, Q_(10, "min"), None, Q_(60, "min"))
    implant = implant_from_plan(rx.plan().to_typed(), ctx.library, ctx.catalog, inputs)
    server = make_server(implant, ctx.library, secret.key, Q_(60, "s"))
    listener = TcpListener(0)
    thread = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    clinician = role_credential(secret, Role.CLINICIAN)
    ctx.services.implant_links.register(
        actor=physician, serial=pump.serial, address=f"127.0.0.1:{listener.port}",
        key=clinician.key, key_serial=clinician.serial, reason="virtual implant (test)",
    )  # fmt: skip
    try:
        yield Served(p.id, pump.serial, rx.version, implant)
    finally:
        server.stop.set()
        thread.join(timeout=5)
        listener.close()


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
    assert delivery.outcome is DeliveryOutcome.UNCERTAIN and "2.5 mg/d" in delivery.payload


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
