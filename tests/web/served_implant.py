"""DEMO-0001's pump served as a virtual implant on 127.0.0.1, running the patient's current
prescription, with its link registered in the clinic database by the physician."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import refill_dry_demo_pump
from thecal.adapters.implant_server import DeviceInputs, implant_from_plan, make_server
from thecal.api.context import AppContext
from thecal.clinic.workflows import current_prescription, pump_in_place
from thecal.link.keystore import provision_implant, role_credential
from thecal.link.roles import Role
from thecal.link.transport import TcpListener
from thecal.units import Q_

__all__ = ["Served", "served_fixture"]


@dataclass
class Served:
    pid: str
    serial: str
    version: int
    implant: Any  # the served ImplantDevice


@pytest.fixture(name="served")
def served_fixture(ctx: AppContext, tmp_path: Path) -> Iterator[Served]:
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
        key=clinician.key, key_id="sha256:test", key_serial=clinician.serial,
        reason="virtual implant (test)",
    )  # fmt: skip
    try:
        yield Served(p.id, pump.serial, rx.version, implant)
    finally:
        server.stop.set()
        thread.join(timeout=5)
        listener.close()
