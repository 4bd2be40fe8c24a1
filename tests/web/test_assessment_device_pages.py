"""The pre-replacement checklist names its device (issue 15): DEMO-0001 with her pump
reporting ERI and an OpenNerve IPG at 3.3 V (its ERI, "<= 3.3 V") has two worklist lines,
each linking to the checklist with its own device chosen; the form offers the devices in
place in words; a device not in place is refused naming the field, nothing written; the
pump's checklist takes off the pump's line only."""

import re
from datetime import date, datetime, timedelta

from fastapi.testclient import TestClient

from tests.unit.clinic.test_interrogation_history import status
from tests.web.conftest import csrf_of, login
from thecal.api.context import AppContext
from thecal.clinic.model import Device, DeviceKind
from thecal.clinic.stimulator_model import BatteryReading, MeasurementSource
from thecal.clinic.workflows import pump_in_place
from thecal.units import Q_

CHECKLIST = "/assessments/new?occasion=replacement_planning"


def pump_and_ipg_at_eri(ctx: AppContext) -> tuple[str, Device, Device]:
    """DEMO-0001's pump reporting ERI and a new OpenNerve IPG read at 3.3 V, both an hour
    before the clock: (patient id, pump, IPG)."""
    now: datetime = ctx.clock()
    with ctx.uow.reader() as repo:
        pid = next(p.id for p in repo.list_patients() if p.mrn == "DEMO-0001")
        pump = pump_in_place(repo, pid)
        nurse = repo.user_by_name("nurse")
    assert pump is not None and nurse is not None
    ctx.clock.now = now - timedelta(hours=1)  # type: ignore[attr-defined]
    snap = {**status(pump.serial, 12.0, []), "eri_at": "2024-03-02T08:00:00"}
    ctx.services.import_interrogation(actor=nurse, patient_id=pid, serial=pump.serial,
                                      status=snap, log=[])  # fmt: skip
    ipg = Device(pid, DeviceKind.STIMULATOR, "OpenNerve IPG", date(2020, 1, 6), "IPG-7")
    with ctx.uow.transaction("nurse", ctx.clock(), "stimulator") as repo:
        repo.add_device(ipg)
        repo.add_battery_reading(
            BatteryReading(pid, ipg.id, ctx.clock(), MeasurementSource.INTERROGATION, Q_(3.3, "V"))
        )
    ctx.clock.now = now  # type: ignore[attr-defined]
    return pid, pump, ipg


def _link(pid: str, device_id: str) -> str:
    return f"/patients/{pid}{CHECKLIST}&device={device_id}"


def _selected(html: str) -> str:
    """The text of the device select's chosen option."""
    select = re.search(r'<select id="device" name="device">(.*?)</select>', html, re.S)
    assert select, html
    chosen = re.findall(r"<option value=\"[^\"]+\" selected>([^<]+)</option>", select.group(1))
    assert len(chosen) == 1, select.group(1)
    return chosen[0]


def _written(ctx: AppContext, pid: str) -> int:
    with ctx.uow.reader() as repo:
        return len(repo.assessments_for(pid))


def test_each_line_links_to_its_device_and_the_form_selects_it(
    client: TestClient, ctx: AppContext
) -> None:
    pid, pump, ipg = pump_and_ipg_at_eri(ctx)
    login(client, "nurse")
    worklist = client.get("/worklist").text
    for d in (pump, ipg):  # the & is written &amp; in the HTML
        assert f'href="{_link(pid, d.id).replace("&", "&amp;")}"' in worklist
    pump_form = client.get(_link(pid, pump.id)).text
    assert _selected(pump_form) == f"Drug pump — {pump.model}, serial {pump.serial}"
    ipg_form = client.get(_link(pid, ipg.id)).text
    assert "Not saved" not in ipg_form
    assert _selected(ipg_form) == "Pulse generator — OpenNerve IPG, serial IPG-7"
    assert f"Drug pump — {pump.model}, serial {pump.serial}</option>" in ipg_form
    # The record shown is the IPG's: no catheter to splice at its replacement.
    assert "Device shown: Pulse generator — OpenNerve IPG, serial IPG-7." in ipg_form
    assert f"Show instead: Drug pump — {pump.model}" in ipg_form
    # No device named: the drug pump, as before.
    plain = client.get(f"/patients/{pid}{CHECKLIST}").text
    assert _selected(plain).startswith("Drug pump — ")


def test_a_device_not_in_place_is_refused_and_nothing_written(
    client: TestClient, ctx: AppContext
) -> None:
    pid, pump, ipg = pump_and_ipg_at_eri(ctx)
    old = Device(pid, DeviceKind.PUMP, pump.model, date(2010, 1, 4), "OLD-1",
                 removed_on=date(2018, 5, 2))  # fmt: skip
    with ctx.uow.transaction("nurse", ctx.clock(), "old pump") as repo:
        repo.add_device(old)
        other = next(p.id for p in repo.list_patients() if p.mrn != "DEMO-0001")
        theirs = next(d for d in repo.devices_for(other) if d.in_place)
    login(client, "nurse")
    # A link to a removed device: said, in words, and the default device chosen instead.
    page = client.get(_link(pid, old.id))
    assert page.status_code == 200
    assert f"Assessment device: &#39;{old.id}&#39; is not a pump or stimulator in place" in (
        page.text)  # fmt: skip
    assert _selected(page.text).startswith("Drug pump — ") and "OLD-1" not in page.text
    token = csrf_of(client, _link(pid, pump.id))
    with ctx.uow.reader() as repo:
        version = repo.get_patient(pid).version
    form = {"csrf": token, "patient_version": str(version), "occasion": "replacement_planning"}
    before = _written(ctx, pid)
    for bad, why in ((old.id, "was removed on 2018-05-02"), (theirs.id, "no pump or stimulator"),
                     ("x" * 65, "no pump or stimulator")):  # fmt: skip
        r = client.post(f"/patients/{pid}/assessments", data={**form, "device": bad})
        assert r.status_code == 422 and "Not saved — Assessment device: " in r.text, bad
        assert why in r.text
    assert (
        client.post(
            f"/patients/{pid}/assessments", data={**form, "device": ipg.id, "csrf": "x"}
        ).status_code
        == 403
    )
    login(client, "viewer")
    assert (
        client.post(f"/patients/{pid}/assessments", data={**form, "device": ipg.id}).status_code
        == 403
    )
    assert _written(ctx, pid) == before  # nothing written


def test_the_pumps_checklist_clears_the_pumps_line_only(
    client: TestClient, ctx: AppContext
) -> None:
    pid, pump, ipg = pump_and_ipg_at_eri(ctx)
    login(client, "nurse")
    token = csrf_of(client, _link(pid, pump.id))
    with ctx.uow.reader() as repo:
        version = repo.get_patient(pid).version
    form = {"csrf": token, "patient_version": str(version), "occasion": "replacement_planning",
            "device": pump.id}  # fmt: skip
    r = client.post(f"/patients/{pid}/assessments", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=assessment")
    with ctx.uow.reader() as repo:
        (record,) = [a for a in repo.assessments_for(pid) if a.device_id == pump.id]
    assert record.kind.value == "replacement"
    worklist = client.get("/worklist").text
    assert _link(pid, pump.id).replace("&", "&amp;") not in worklist
    assert _link(pid, ipg.id).replace("&", "&amp;") in worklist
    patient = client.get(f"/patients/{pid}").text
    assert "Battery at ERI (stimulator OpenNerve IPG IPG-7" in patient
    assert "Battery at ERI (pump" not in patient
