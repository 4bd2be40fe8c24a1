"""Stimulator measurements from the patient page: a virtual IPG served in a thread on
127.0.0.1 with the serial of the patient's stimulator in place, read over the telemetry link
(impedances and battery stored), and impedances and battery readings typed in by hand."""

import threading
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from thecal.adapters.stimulator_server import make_stimulator_server, stimulator_from_scenario
from thecal.api.context import AppContext
from thecal.clinic.stimulator_model import BatteryReading, ImpedanceSet, MeasurementSource
from thecal.clinic.stimulator_workflow import StimulatorSummary
from thecal.link.keystore import export_role_credential, provision_implant
from thecal.link.roles import Role
from thecal.link.transport import TcpListener
from thecal.units import Q_, field_label
from thecal.web.app import create_app
from thecal.web.implants import ImplantLink

from .conftest import csrf_of, login

SCENARIO = "rechargeable-stops-charging.toml"  # shipped: OpenNerve IPG, group A running


def _in_place(ctx: AppContext) -> tuple[str, StimulatorSummary]:
    pid = next(p.id for p in ctx.services.patients() if p.mrn == "SEED-000")
    s = next(s for s in ctx.services.stimulator_summary(patient_id=pid) if s.device.in_place)
    return pid, s


@pytest.fixture
def ipg(ctx: AppContext, tmp_path: Path) -> Iterator[tuple[str, StimulatorSummary, ImplantLink]]:
    pid, s = _in_place(ctx)
    secret = provision_implant(tmp_path / "implant.key", s.device.serial)
    key = tmp_path / "clinician.key"
    export_role_credential(secret, Role.CLINICIAN, key)
    source = Path(str(resources.files("thecal.data").joinpath("scenarios", "stimulator",
                                                               SCENARIO)))  # fmt: skip
    dev = stimulator_from_scenario(source, s.device.serial)
    server = make_stimulator_server(dev, secret.key, Q_(60, "s"))  # test input: staleness
    listener = TcpListener(0)
    thread = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    try:
        yield pid, s, ImplantLink(listener.port, key, 3.0)
    finally:
        server.stop.set()
        thread.join(timeout=5)
        listener.close()


def _summary(ctx: AppContext, pid: str, device_id: str) -> StimulatorSummary:
    return next(x for x in ctx.services.stimulator_summary(patient_id=pid)
                if x.device.id == device_id)  # fmt: skip


def _counts(ctx: AppContext, pid: str, device_id: str) -> tuple[int, int]:
    s = _summary(ctx, pid, device_id)
    return len(s.impedances), len(s.batteries)


def _new(
    ctx: AppContext, pid: str, before: StimulatorSummary
) -> tuple[ImpedanceSet, BatteryReading]:
    """The one impedance set and the one battery reading stored since ``before``."""
    after = _summary(ctx, pid, before.device.id)
    old_i, old_b = {i.id for i in before.impedances}, {b.id for b in before.batteries}
    (imp,) = [i for i in after.impedances if i.id not in old_i]
    (battery,) = [b for b in after.batteries if b.id not in old_b]
    return imp, battery


def test_read_stores_impedances_and_battery(
    ctx: AppContext, ipg: tuple[str, StimulatorSummary, ImplantLink]
) -> None:
    pid, s, link = ipg
    client = TestClient(create_app(ctx, {s.device.serial: link}))
    login(client, "nurse")
    page = client.get(f"/patients/{pid}").text
    assert f"Read impedances from the stimulator {s.device.serial}" in page
    token = csrf_of(client, f"/patients/{pid}")
    url = f"/patients/{pid}/stimulators/{s.device.id}/read"
    r = client.post(url, data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    imp, battery = _new(ctx, pid, s)
    assert battery.source is MeasurementSource.INTERROGATION and battery.voltage is not None
    assert imp.source is MeasurementSource.INTERROGATION and imp.by == "nurse"
    # Every contact the IPG measured monopolar (the scenario's lead L1), in ohm, above zero.
    assert imp.values and all(v.contact.startswith("L1:") for v in imp.values)
    assert all(v.impedance.to("ohm").magnitude > 0 for v in imp.values)
    assert ctx.uow.verify_audit().ok


def test_viewer_refused_and_link_failure_stores_nothing(
    ctx: AppContext, ipg: tuple[str, StimulatorSummary, ImplantLink], tmp_path: Path
) -> None:
    pid, s, link = ipg
    url = f"/patients/{pid}/stimulators/{s.device.id}/read"
    viewer = TestClient(create_app(ctx, {s.device.serial: link}))
    login(viewer, "viewer")
    assert "Read impedances" not in viewer.get(f"/patients/{pid}").text
    before = _counts(ctx, pid, s.device.id)
    token = csrf_of(viewer, f"/patients/{pid}")
    assert viewer.post(url, data={"csrf": token}).status_code == 403
    # A link to a closed port: a 502 HTML page, nothing stored.
    closed = TcpListener(0)
    port = closed.port
    closed.close()
    broken = TestClient(create_app(ctx, {s.device.serial: ImplantLink(port, link.key, 1.0)}))
    login(broken, "nurse")
    token = csrf_of(broken, f"/patients/{pid}")
    r = broken.post(url, data={"csrf": token})
    assert r.status_code == 502 and "text/html" in r.headers["content-type"]
    assert "reading the stimulator failed" in r.text
    # Without a link for this serial: 404, and no button.
    plain = TestClient(create_app(ctx, {}))
    login(plain, "nurse")
    assert "Read impedances" not in plain.get(f"/patients/{pid}").text
    token = csrf_of(plain, f"/patients/{pid}")
    assert plain.post(url, data={"csrf": token}).status_code == 404
    assert _counts(ctx, pid, s.device.id) == before


def test_manual_impedances_and_battery(client: TestClient, ctx: AppContext) -> None:
    pid, s = _in_place(ctx)
    login(client, "nurse")
    page = client.get(f"/patients/{pid}").text
    assert "Record impedances" in page and "Record battery reading" in page
    base = f"/patients/{pid}/stimulators/{s.device.id}"
    token = csrf_of(client, f"/patients/{pid}")
    text = "L1:0 = 850 ohm\nL1:1 = 1.2 kohm\nL1:2 = \n"  # the empty line is skipped
    r = client.post(base + "/impedances", data={"csrf": token, "impedances": text,
                                                "at": "2024-06-01T10:00"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    r = client.post(base + "/battery", data={"csrf": token, "voltage": "3.05 V"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    imp, battery = _new(ctx, pid, s)
    # Two contacts: 850 ohm, and 1.2 kohm = 1200 ohm; L1:2 had no value.
    assert imp.source is MeasurementSource.MANUAL and imp.at == datetime(2024, 6, 1, 10)
    assert [(v.contact, v.impedance.to("ohm").magnitude) for v in imp.values] == [
        ("L1:0", pytest.approx(850)),
        ("L1:1", pytest.approx(1200)),
    ]
    assert battery.source is MeasurementSource.MANUAL and battery.voltage is not None
    assert battery.voltage.to("V").magnitude == pytest.approx(3.05)


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("/impedances", {"impedances": "L1:0 = 850"}, "impedances.L1:0"),  # no unit
        ("/impedances", {"impedances": "L1:0 = 850 mA"}, "impedances.L1:0"),
        ("/impedances", {"impedances": "L1:0 = nan ohm"}, "impedances.L1:0"),
        ("/impedances", {"impedances": "L1:0 = inf ohm"}, "impedances.L1:0"),
        ("/impedances", {"impedances": "L1:0 = 8,5 kohm"}, "impedances.L1:0"),  # decimal comma
        ("/impedances", {"impedances": "L1:0 = 800+50 ohm"}, "impedances.L1:0"),  # expression
        ("/impedances", {"impedances": "L1:0 = 1e400 ohm"}, "impedances.L1:0"),  # overflows
        ("/impedances", {"impedances": "L1:0 = -850 ohm"}, "impedances.L1:0"),
        ("/battery", {"voltage": "2,5 V"}, "battery.voltage"),
        ("/battery", {"voltage": "inf V"}, "battery.voltage"),
        ("/impedances", {"impedances": "L1:0 = 850 ohm", "at": "soon"}, "impedances.at"),
        ("/impedances", {"impedances": "L1:0 = 850 ohm", "at": "2026-01-05T10:00+01:00"},
         "impedances.at"),
        ("/battery", {"voltage": "3.1"}, "battery.voltage"),
        ("/battery", {"voltage": "-1 V"}, "battery.voltage"),
        ("/battery", {"percent": "150 %"}, "battery.percent"),
        ("/battery", {}, "battery.voltage"),
    ],
)  # fmt: skip
def test_bad_value_names_its_field(
    client: TestClient, ctx: AppContext, path: str, data: dict[str, str], field: str
) -> None:
    pid, s = _in_place(ctx)
    login(client, "nurse")
    before = _counts(ctx, pid, s.device.id)
    token = csrf_of(client, f"/patients/{pid}")
    r = client.post(f"/patients/{pid}/stimulators/{s.device.id}{path}",
                    data={"csrf": token, **data})  # fmt: skip
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    assert field_label(field) in r.text
    assert _counts(ctx, pid, s.device.id) == before


def test_manual_entry_roles_and_csrf(client: TestClient, ctx: AppContext) -> None:
    pid, s = _in_place(ctx)
    base = f"/patients/{pid}/stimulators/{s.device.id}"
    login(client, "viewer")
    assert "Record impedances" not in client.get(f"/patients/{pid}").text
    token = csrf_of(client, f"/patients/{pid}")
    data = {"csrf": token, "impedances": "L1:0 = 850 ohm"}
    assert client.post(base + "/impedances", data=data).status_code == 403
    assert client.post(base + "/battery", data={"csrf": token, "voltage": "3 V"}).status_code == 403
    login(client, "nurse")
    bad = {"csrf": "wrong", "impedances": "L1:0 = 850 ohm"}
    assert client.post(base + "/impedances", data=bad).status_code == 403
    other = client.post(
        f"/patients/{pid}/stimulators/nope/battery",
        data={"csrf": csrf_of(client, f"/patients/{pid}"), "voltage": "3 V"},
    )
    assert other.status_code == 404


def test_an_open_circuit_read_over_the_link_is_stored_and_shown(
    ctx: AppContext, tmp_path: Path
) -> None:
    pid, s = _in_place(ctx)
    secret = provision_implant(tmp_path / "implant.key", s.device.serial)
    key = tmp_path / "clinician.key"
    export_role_credential(secret, Role.CLINICIAN, key)
    source = Path(str(resources.files("thecal.data").joinpath("scenarios", "stimulator",
                                                               SCENARIO)))  # fmt: skip
    dev = stimulator_from_scenario(source, s.device.serial)
    # A lead fracture at L1:3: 10 MOhm (test input), far above OpenNerve's 5 kOhm window top.
    dev.plant.fault("L1:3", 1e7, dev.firmware.now)
    server = make_stimulator_server(dev, secret.key, Q_(60, "s"))  # test input: staleness
    listener = TcpListener(0)
    thread = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    try:
        client = TestClient(create_app(ctx, {s.device.serial: ImplantLink(listener.port, key,
                                                                          3.0)}))  # fmt: skip
        login(client, "nurse")
        token = csrf_of(client, f"/patients/{pid}")
        r = client.post(f"/patients/{pid}/stimulators/{s.device.id}/read",
                        data={"csrf": token}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
    finally:
        server.stop.set()
        thread.join(timeout=5)
        listener.close()
    imp, _ = _new(ctx, pid, s)
    flags = {v.contact: v.open_circuit for v in imp.values}
    assert flags["L1:3"] and not flags["L1:0"]
    page = client.get(f"/patients/{pid}").text
    assert '<span class="status status-hard">open circuit</span>' in page
    assert "STIM-IMPEDANCE-OPEN" in page and "Contact L1:3: read as an open circuit" in page


def test_manual_open_circuit(client: TestClient, ctx: AppContext) -> None:
    pid, s = _in_place(ctx)
    login(client, "nurse")
    base = f"/patients/{pid}/stimulators/{s.device.id}"
    token = csrf_of(client, f"/patients/{pid}")
    text = "L1:0 = 850 ohm\nL1:1 = Open\nL1:2 = open circuit\n"
    r = client.post(base + "/impedances", data={"csrf": token, "impedances": text},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    after = _summary(ctx, pid, s.device.id)
    (imp,) = [i for i in after.impedances if i.id not in {x.id for x in s.impedances}]
    assert [(v.contact, v.impedance is None, v.open_circuit) for v in imp.values] == [
        ("L1:0", False, False), ("L1:1", True, True), ("L1:2", True, True)]  # fmt: skip
    page = client.get(f"/patients/{pid}").text
    assert page.count('<span class="status status-hard">open circuit</span>') == 2
    # "opened" is neither a number with a unit nor the word open: refused, naming the contact.
    r = client.post(base + "/impedances", data={"csrf": token, "impedances": "L1:0 = opened"})
    assert r.status_code == 422 and field_label("impedances.L1:0") in r.text


@pytest.mark.parametrize(
    ("percent", "stored"),
    [("0 %", 0.0), ("100 %", 1.0), ("80%", 0.8), ("100.1 %", None), ("80", None),
     ("0.8", None), ("100", None), ("0", None), ("-0.1 %", None)],
)  # fmt: skip
def test_battery_percent_needs_its_unit_and_is_within_0_to_100(
    client: TestClient, ctx: AppContext, percent: str, stored: float | None
) -> None:
    # Both ends allowed (0 % and 100 %); 100.1 % refused; a bare number is refused whatever
    # its value ("80" would be 8000 %, "0.8" silently 80 %), naming the field.
    pid, s = _in_place(ctx)
    login(client, "nurse")
    before = _counts(ctx, pid, s.device.id)
    token = csrf_of(client, f"/patients/{pid}")
    r = client.post(f"/patients/{pid}/stimulators/{s.device.id}/battery",
                    data={"csrf": token, "percent": percent}, follow_redirects=False)  # fmt: skip
    if stored is None:
        assert r.status_code == 422 and field_label("battery.percent") in r.text
        assert _counts(ctx, pid, s.device.id) == before
        return
    assert r.status_code == 303, r.text
    after = _summary(ctx, pid, s.device.id)
    (new,) = [b for b in after.batteries if b.id not in {x.id for x in s.batteries}]
    assert new.percent is not None
    assert float(new.percent.to("").magnitude) == pytest.approx(stored)


def test_refused_entry_shows_the_form_again_with_what_was_typed(
    client: TestClient, ctx: AppContext
) -> None:
    # A 422 is the form again (not a bare error page): the typed text kept, the field named,
    # nothing stored; correcting it and posting again stores it.
    pid, s = _in_place(ctx)
    login(client, "nurse")
    base = f"/patients/{pid}/stimulators/{s.device.id}"
    before = _counts(ctx, pid, s.device.id)
    token = csrf_of(client, f"/patients/{pid}")
    typed = "L1:0 = 850 ohm\nL1:1 = 9x0 ohm"
    data = {"csrf": token, "impedances": typed, "at": "2025-01-06T09:30"}
    r = client.post(base + "/impedances", data=data)
    assert r.status_code == 422 and field_label("impedances.L1:1") in r.text
    assert 'role="alert">Not saved' in r.text
    assert f">{typed}</textarea>" in r.text and 'value="2025-01-06T09:30"' in r.text
    assert f'action="{base}/impedances"' in r.text and 'name="csrf"' in r.text
    r = client.post(base + "/battery", data={"csrf": token, "voltage": "3.1", "percent": "80 %"})
    assert r.status_code == 422 and field_label("battery.voltage") in r.text
    assert 'name="voltage" value="3.1"' in r.text and 'name="percent" value="80 %"' in r.text
    assert '<span class="unit">V, typed with the unit' in r.text
    assert _counts(ctx, pid, s.device.id) == before
    r = client.post(base + "/battery", data={"csrf": token, "voltage": "3.1 V"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    # Typed text is escaped when shown again (untrusted input).
    r = client.post(base + "/impedances", data={"csrf": token, "impedances": "<b>x</b> = 1"})
    assert r.status_code == 422 and "<b>x</b>" not in r.text
