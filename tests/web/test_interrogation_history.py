"""Interrogation history on the patient page: after "Interrogate" (a virtual implant on
127.0.0.1, as in test_interrogate) the page lists the stored snapshot, the timeline has it,
and the detail page shows the stored status and event log."""

import re
from datetime import datetime

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login
from tests.web.test_interrogate import patient_and_link
from thecal.api.context import AppContext
from thecal.web.app import create_app
from thecal.web.implants import ImplantLink

__all__ = ["patient_and_link"]  # the fixture, shared with test_interrogate


def _interrogate(client: TestClient, pid: str) -> None:
    token = csrf_of(client, f"/patients/{pid}")
    r = client.post(f"/patients/{pid}/interrogate", data={"csrf": token})
    assert r.status_code == 200 and "Stored as a snapshot" in r.text, r.text


def test_history_lists_and_shows_the_stored_snapshot(
    ctx: AppContext, patient_and_link: tuple[str, str, ImplantLink]
) -> None:
    pid, serial, link = patient_and_link
    client = TestClient(create_app(ctx, {serial: link}))
    login(client, "nurse")
    assert "No interrogation stored." in client.get(f"/patients/{pid}").text
    _interrogate(client, pid)
    ctx.clock.now = datetime(2026, 11, 23, 10, 20)  # type: ignore[attr-defined]  # < idle timeout
    _interrogate(client, pid)
    with ctx.uow.reader() as repo:
        first, second = repo.interrogations_for(pid)
    assert (first.at, second.at) == (datetime(2026, 11, 23, 10, 0), datetime(2026, 11, 23, 10, 20))
    assert first.log, "the first interrogation reads the implant's whole log"

    page = client.get(f"/patients/{pid}").text
    section = page.split("<h2>Interrogations</h2>")[1].split("<h2>Timeline</h2>")[0]
    rows = re.findall(r'<tr><td>(\d{4}-\d\d-\d\d \d\d:\d\d)</td><td>nurse</td><td>([^<]*)</td>'
                      r'<td>([^<]*)</td>', section)  # fmt: skip
    assert [when for when, _, _ in rows] == ["2026-11-23 10:20", "2026-11-23 10:00"]  # newest 1st
    assert all(pump.startswith(serial) for _, pump, _ in rows)
    assert all(reservoir.endswith(" mL") for _, _, reservoir in rows)
    links = re.findall(rf'href="/patients/{pid}/interrogations/([^"]+)"', section)
    assert links == [second.id, first.id]
    timeline = page.split("<h2>Timeline</h2>")[1]
    assert timeline.count(f"interrogation of {serial} by nurse: reservoir ") == 2

    detail = client.get(f"/patients/{pid}/interrogations/{first.id}")
    assert detail.status_code == 200
    html = detail.text
    assert "read at 2026-11-23 10:00 (clinic time) by nurse" in html and serial in html
    events = html.split("Event log (newest first)")[1]
    seqs = [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", events)]
    assert seqs == sorted((e["seq"] for e in first.log), reverse=True)
    for e in first.log:
        assert e["kind"] in events
    assert "Stored snapshot (JSON)" in html


def test_detail_404_for_unknown_or_another_patients_interrogation(
    ctx: AppContext, patient_and_link: tuple[str, str, ImplantLink]
) -> None:
    pid, serial, link = patient_and_link
    client = TestClient(create_app(ctx, {serial: link}))
    login(client, "nurse")
    _interrogate(client, pid)
    with ctx.uow.reader() as repo:
        (stored,) = repo.interrogations_for(pid)
        other = next(p.id for p in repo.list_patients() if p.id != pid)
    assert client.get(f"/patients/{pid}/interrogations/no-such-id").status_code == 404
    assert client.get(f"/patients/{other}/interrogations/{stored.id}").status_code == 404
    assert client.get(f"/patients/no-such-patient/interrogations/{stored.id}").status_code == 404
    viewer = TestClient(create_app(ctx, {}))
    login(viewer, "viewer")  # reading the history needs no write right
    assert viewer.get(f"/patients/{pid}/interrogations/{stored.id}").status_code == 200
    anonymous = TestClient(create_app(ctx, {}))
    r = anonymous.get(f"/patients/{pid}/interrogations/{stored.id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
