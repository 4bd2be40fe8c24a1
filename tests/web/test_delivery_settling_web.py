"""End to end over the real link: a program change whose acknowledgement is dropped is a hard
item on the worklist; the next interrogation (the patient page's button) reads the virtual
pump, sees the new program running, records it as the next prescription version and takes the
item off the worklist."""

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login
from tests.web.served_implant import Served, served_fixture  # noqa: F401 (the fixture)
from tests.web.test_program_link import _confirm
from thecal.api.context import AppContext
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.workflows import current_prescription
from thecal.programmer.commands import Op
from thecal.programmer.link_client import AckLost, LinkClient
from thecal.web.app import create_app


def test_dropped_ack_then_interrogation_settles_it(
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
    page = client.get("/worklist").text
    assert "unacknowledged pump write" in page and "Interrogate the pump" in page
    monkeypatch.undo()

    token = csrf_of(client, f"/patients/{served.pid}")
    r = client.post(f"/patients/{served.pid}/interrogate", data={"csrf": token})
    assert r.status_code in (200, 303), r.text
    with ctx.uow.reader() as repo:
        rx = current_prescription(repo, served.pid)
        (delivery,) = repo.link_deliveries_for(served.pid)
    assert delivery.outcome is DeliveryOutcome.SETTLED_CONFIRMED
    assert rx is not None and rx.version == served.version + 1
    assert delivery.prescription_version == rx.version
    assert rx.plan().schedule.dose == "2.5 mg/d"
    assert "unacknowledged pump write" not in client.get("/worklist").text
