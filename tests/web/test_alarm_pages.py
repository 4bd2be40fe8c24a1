"""The alarms page: the implant's alarm read at an interrogation listed with its level as text;
a nurse acknowledges then resolves it (303 back with a success message); a viewer sees no
button and is refused; a blank reason is refused; a patient's page keeps the resolved alarm."""

from fastapi.testclient import TestClient

from tests.api.test_alarms_api import _interrogated
from tests.web.conftest import csrf_of, login
from thecal.api.context import AppContext


def _low(ctx: AppContext, pid: str) -> str:
    found = ctx.services.alarms.list(patient_id=pid).alarms
    return next(a.id for a in found if a.code == "LOW_RESERVOIR" and a.raised_at.year == 2024)


def test_acknowledge_and_resolve_from_the_page(client: TestClient, ctx: AppContext) -> None:
    pid = _interrogated(ctx)
    aid = _low(ctx, pid)
    login(client, "nurse")
    page = client.get("/alarms").text
    assert "<h1>Open alarms</h1>" in page and "LOW_RESERVOIR" in page
    assert '<span class="status status-soft">non-critical</span>' in page
    assert f'<label for="reason-{aid}">Why resolved</label>' in page
    token = csrf_of(client, "/alarms")
    r = client.post(f"/alarms/{aid}/acknowledge", data={"csrf": token, "patient": pid},
                    follow_redirects=False)  # fmt: skip
    assert (
        r.status_code == 303
        and r.headers["location"] == f"/alarms?saved=acknowledged&patient={pid}"
    )
    shown = client.get(r.headers["location"]).text
    assert '<p class="flash" role="status">Alarm acknowledged.</p>' in shown
    assert "by nurse" in shown
    blank = client.post(f"/alarms/{aid}/resolve", data={"csrf": token, "reason": " "},
                        follow_redirects=False)  # fmt: skip
    assert blank.status_code == 422
    r = client.post(f"/alarms/{aid}/resolve", data={"csrf": token, "reason": "refilled"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/alarms?saved=resolved"
    assert "Alarm resolved." in client.get(r.headers["location"]).text
    history = client.get(f"/alarms?patient={pid}").text
    assert "by nurse: refilled" in history
    assert client.post(f"/alarms/{aid}/resolve", data={"csrf": token, "reason": "again"},
                       follow_redirects=False).status_code == 404  # fmt: skip
    assert client.get("/alarms?patient=nope").status_code == 404
    assert ctx.uow.verify_audit().ok


def test_viewer_sees_no_button_and_is_refused(client: TestClient, ctx: AppContext) -> None:
    pid = _interrogated(ctx)
    aid = _low(ctx, pid)
    login(client, "viewer")
    page = client.get("/alarms").text
    assert "LOW_RESERVOIR" in page and "Acknowledge</button>" not in page
    token = csrf_of(client, "/alarms")
    for action, data in (("acknowledge", {}), ("resolve", {"reason": "x"})):
        r = client.post(f"/alarms/{aid}/{action}", data={"csrf": token, **data},
                        follow_redirects=False)  # fmt: skip
        assert r.status_code == 403
    bad = client.post(f"/alarms/{aid}/acknowledge", data={"csrf": "wrong"}, follow_redirects=False)
    assert bad.status_code == 403
