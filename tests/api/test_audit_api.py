"""GET /api/v1/audit: the same filters and paging as the /audit page, JSON; a viewer 403, a
bad filter 422 naming the field, from == to that whole day."""

from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.api.test_alarms_api import _interrogated
from tests.api.test_api import _login
from thecal.api.context import AppContext


def test_audit_api_pages_and_filters(client: TestClient, ctx: AppContext) -> None:
    assert client.get("/api/v1/audit").status_code == 401
    _interrogated(ctx)
    _login(client, "nurse")
    first = client.get("/api/v1/audit").json()
    assert (first["page"], first["page_size"], first["more"]) == (1, 50, True)
    entries = first["entries"]
    assert len(entries) == 50 and [e["seq"] for e in entries] == sorted(
        (e["seq"] for e in entries), reverse=True
    )
    assert set(entries[0]) == {"seq", "at", "actor", "role", "action", "entity", "entity_id",
                               "reason", "summary"}  # fmt: skip
    second = client.get("/api/v1/audit", params={"page": 2}).json()
    assert second["entries"][0]["seq"] == entries[-1]["seq"] - 1  # continues where page 1 ended

    got = client.get("/api/v1/audit", params={"patient": "DEMO-0001", "what": "interrogation"})
    assert got.status_code == 200
    assert got.json()["entries"] and all(e["entity"] == "interrogation"
                                         for e in got.json()["entries"])  # fmt: skip

    # from == to: that whole day, and nothing of the day before or after.
    newest = entries[0]
    day = newest["at"][:10]
    same = client.get("/api/v1/audit", params={"from": day, "to": day}).json()["entries"]
    assert newest["seq"] in {e["seq"] for e in same}
    assert all(e["at"][:10] == day for e in same)
    after = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    later = client.get("/api/v1/audit", params={"from": after}).json()["entries"]
    assert newest["seq"] not in {e["seq"] for e in later}


def test_audit_api_refusals(client: TestClient) -> None:
    _login(client, "viewer")
    assert client.get("/api/v1/audit").status_code == 403
    client.cookies.clear()
    _login(client, "physician")
    for params, field in (({"from": "2024-02-30"}, "from"), ({"to": "x"}, "to"),
                          ({"from": "2024-02-02", "to": "2024-02-01"}, "to"),
                          ({"patient": "NOBODY"}, "patient"), ({"page": "-1"}, "page"),
                          ({"who": "w" * 81}, "who")):  # fmt: skip
        r = client.get("/api/v1/audit", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["detail"][0]["field"] == field
