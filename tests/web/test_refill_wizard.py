"""The refill wizard: interrogate -> withdraw -> drug (lot) -> fill -> review -> confirm over
the link -> the printable session record. Each step validates its own field; nothing is
recorded before the final confirm; a lost acknowledgement is uncertain and not recorded."""

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login
from tests.web.served_implant import Served, served_fixture  # noqa: F401 (the fixture)
from thecal.api.context import AppContext
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.programmer.commands import Op
from thecal.programmer.link_client import AckLost, LinkClient
from thecal.units import field_label
from thecal.web.app import create_app


def _hidden(html: str) -> dict[str, str]:
    """The hidden fields of the page's last form (what the next step carries)."""
    form = html[html.rindex("<form") :]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def _refills(ctx: AppContext, pid: str) -> int:
    with ctx.uow.reader() as repo:
        return len(repo.refills_for(pid))


def _walk(client: TestClient, ctx: AppContext, pid: str) -> Any:
    """Every step up to the review page, checking that nothing is recorded on the way."""
    url = f"/patients/{pid}/refill-wizard"
    before = _refills(ctx, pid)
    page = client.get(url)
    assert page.status_code == 200 and "Interrogate" in page.text
    r = client.post(url, data={"csrf": csrf_of(client, url), "step": "interrogate"})
    assert (
        r.status_code == 200 and "What the pump said" in r.text and "reservoir estimate" in r.text
    )
    # A bad volume is refused at its own step, naming the field.
    bad = client.post(url, data={**_hidden(r.text), "withdrawn": "lots"})
    assert bad.status_code == 422 and field_label("refill.withdrawn") in bad.text
    r = client.post(url, data={**_hidden(r.text), "withdrawn": "0 mL"})
    assert r.status_code == 200 and "discrepancy (withdrawn − expected)" in r.text, r.text
    assert "Drug lot" in r.text
    r = client.post(url, data={**_hidden(r.text), "drug_lot": ""})
    assert r.status_code == 422 and field_label("refill.drug_lot") in r.text
    r = client.post(url, data={**_hidden(r.text), "drug_lot": "LOT-W1"})
    assert r.status_code == 200 and "Filled into the reservoir" in r.text
    r = client.post(url, data={**_hidden(r.text), "filled": "20 mL"})
    assert r.status_code == 200 and "Review and confirm" in r.text and "LOT-W1" in r.text
    assert _refills(ctx, pid) == before  # nothing recorded yet
    return r


def _confirm(client: TestClient, pid: str, review: Any) -> Any:
    reasons = dict.fromkeys(re.findall(r'name="(reason:[^"]+)"', review.text), "refill (test)")
    data = {**_hidden(review.text), **reasons}
    return client.post(f"/patients/{pid}/refill-wizard", data=data, follow_redirects=False)


def test_wizard_sends_the_refill_then_records_it(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx))
    login(client, "physician")
    before = _refills(ctx, served.pid)
    r = _confirm(client, served.pid, _walk(client, ctx, served.pid))
    assert r.status_code == 303, r.text
    assert "/refill-wizard/session/" in r.headers["location"]
    record = client.get(r.headers["location"])
    assert record.status_code == 200
    text = record.text
    assert "Refill sent to the pump, read back and recorded" in text and "Print" in text
    assert "20 mL" in text and "LOT-W1" in text and 'media="print"' in text
    assert _refills(ctx, served.pid) == before + 1
    with ctx.uow.reader() as repo:
        (delivery,) = repo.link_deliveries_for(served.pid)
    assert delivery.outcome is DeliveryOutcome.CONFIRMED and delivery.what == "refill"
    assert ctx.uow.verify_audit().ok


def test_lost_acknowledgement_is_uncertain_and_not_recorded(
    ctx: AppContext, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = TestClient(create_app(ctx))
    login(client, "physician")
    before = _refills(ctx, served.pid)
    review = _walk(client, ctx, served.pid)
    real_call = LinkClient.call

    def call(self: LinkClient, op: Op, args: object = None, **kw: object) -> object:
        reply = real_call(self, op, args, **kw)  # type: ignore[arg-type]
        if op is Op.REFILL:  # the pump took the refill; its answer never arrives
            raise AckLost(self.sent[-1], "test: acknowledgement dropped")
        return reply

    monkeypatch.setattr(LinkClient, "call", call)
    r = _confirm(client, served.pid, review)
    assert r.status_code == 200 and "may or may not have taken the refill" in r.text
    assert _refills(ctx, served.pid) == before
    with ctx.uow.reader() as repo:
        (delivery,) = repo.link_deliveries_for(served.pid)
    assert delivery.outcome is DeliveryOutcome.UNCERTAIN


def test_without_a_link_the_wizard_records_and_says_so(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx, {}))
    login(client, "physician")
    url = f"/patients/{served.pid}/refill-wizard"
    page = client.get(url).text
    assert "has no registered link" in page and "Withdrawn from the reservoir" in page
    token = csrf_of(client, url)
    r = client.post(url, data={"csrf": token, "step": "withdraw", "withdrawn": "0 mL"})
    r = client.post(url, data={**_hidden(r.text), "drug_lot": "L2"})
    r = client.post(url, data={**_hidden(r.text), "filled": "20 mL"})
    r = _confirm(client, served.pid, r)
    assert r.status_code == 303, r.text
    assert "The pump was NOT updated" in client.get(r.headers["location"]).text


def test_viewer_may_not_and_unknown_session_is_404(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx))
    login(client, "viewer")
    url = f"/patients/{served.pid}/refill-wizard"
    r = client.post(url, data={"csrf": csrf_of(client, url), "step": "interrogate"})
    assert r.status_code == 403
    assert client.get(f"{url}/session/{'0' * 32}").status_code == 404


def test_a_missing_reason_shows_the_review_again(ctx: AppContext, served: Served) -> None:
    client = TestClient(create_app(ctx, {}))
    login(client, "physician")
    url = f"/patients/{served.pid}/refill-wizard"
    token = csrf_of(client, url)
    r = client.post(url, data={"csrf": token, "step": "withdraw", "withdrawn": "0 mL"})
    r = client.post(url, data={**_hidden(r.text), "drug_lot": "L2"})
    r = client.post(url, data={**_hidden(r.text), "filled": "20 mL"})
    assert re.search(r'name="reason:', r.text), "this refill has a soft finding to reason"
    before = _refills(ctx, served.pid)
    r = client.post(url, data=_hidden(r.text))  # confirm without the reasons
    assert r.status_code == 422 and "Review and confirm" in r.text and "reason" in r.text
    assert _refills(ctx, served.pid) == before
