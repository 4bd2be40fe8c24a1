""" "Interrogate" on a patient page: a virtual implant served in a thread on 127.0.0.1 with the
patient's pump serial; the web app interrogates it and stores the snapshot."""

import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.e2e.helpers import PLAN
from tests.web.conftest import csrf_of, login
from thecal.adapters.implant_server import DeviceInputs, implant_from_plan, make_server
from thecal.adapters.plan_files import parse_plan
from thecal.api.context import AppContext
from thecal.clinic.workflows import pump_in_place
from thecal.link.keystore import export_role_credential, provision_implant
from thecal.link.roles import Role
from thecal.link.transport import TcpListener
from thecal.store.schema import InterrogationRow
from thecal.units import Q_
from thecal.web.app import create_app
from thecal.web.implants import ImplantLink


@pytest.fixture
def patient_and_link(ctx: AppContext, tmp_path: Path) -> Iterator[tuple[str, str, ImplantLink]]:
    with ctx.uow.reader() as repo:
        p = next(p for p in repo.list_patients() if p.mrn == "DEMO-0001")
        pump = pump_in_place(repo, p.id)
    assert pump is not None
    secret = provision_implant(tmp_path / "implant.key", pump.serial)
    key = tmp_path / "clinician.key"
    export_role_credential(secret, Role.CLINICIAN, key)
    plan = parse_plan(tomllib.loads(PLAN.format(dose="1 mg/d", patient="")))
    # Test inputs (not public): SynchroMed stroke volume and critical alarm repeat.
    inputs = DeviceInputs(pump.serial, Q_(10, "min"), Q_(0.001, "mL"))
    implant = implant_from_plan(plan.to_typed(), ctx.library, ctx.catalog, inputs)
    server = make_server(implant, ctx.library, secret.key, Q_(60, "s"))
    listener = TcpListener(0)
    thread = threading.Thread(target=server.serve_tcp, args=(listener,), daemon=True)
    thread.start()
    try:
        yield p.id, pump.serial, ImplantLink(listener.port, key, 3.0)
    finally:
        server.stop.set()
        thread.join(timeout=5)
        listener.close()


def test_interrogate_stores_a_snapshot(
    ctx: AppContext, patient_and_link: tuple[str, str, ImplantLink]
) -> None:
    pid, serial, link = patient_and_link
    client = TestClient(create_app(ctx, {serial: link}))
    login(client, "nurse")
    page = client.get(f"/patients/{pid}").text
    assert f"Interrogate {serial}" in page
    token = csrf_of(client, f"/patients/{pid}")
    r = client.post(f"/patients/{pid}/interrogate", data={"csrf": token})
    assert r.status_code == 200, r.text
    assert serial in r.text and "Stored as a snapshot" in r.text
    with ctx.uow.session() as s:
        q = select(InterrogationRow.by, InterrogationRow.status)
        rows = s.execute(q.where(InterrogationRow.patient_id == pid)).all()
    assert len(rows) == 1 and rows[0][0] == "nurse" and serial in rows[0][1]
    assert ctx.uow.verify_audit().ok


def test_no_button_without_a_link_and_viewer_refused(
    ctx: AppContext, patient_and_link: tuple[str, str, ImplantLink]
) -> None:
    pid, serial, link = patient_and_link
    plain = TestClient(create_app(ctx, {}))
    login(plain, "nurse")
    assert "Interrogate" not in plain.get(f"/patients/{pid}").text
    viewer = TestClient(create_app(ctx, {serial: link}))
    login(viewer, "viewer")
    token = csrf_of(viewer, f"/patients/{pid}")
    assert viewer.post(f"/patients/{pid}/interrogate", data={"csrf": token}).status_code == 403
