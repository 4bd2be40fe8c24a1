"""A virtual implant served in-process on a thread, and programmers connected to it.

Numbers that are not sourced are test inputs (stroke volume, alarm repeat, staleness bound)."""

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.unit.implant.helpers import filled, morphine, pump, simple_program
from thecal.adapters.implant_server import ImplantServer, command_logger
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.pump import Program
from thecal.implant import SimulatedPump
from thecal.link import Initiator, Role, derive_role_key, generate_secret
from thecal.link.transport import FaultyTransport, InProcessTransport
from thecal.programmer.clinician import ClinicianProgrammer
from thecal.programmer.implant_server import ImplantCommandHandler, ServerSettings
from thecal.programmer.link_client import LinkClient, log_link_event
from thecal.programmer.patient import PatientController
from thecal.therapy.library import DrugLibrary
from thecal.therapy.schedule import patient_bolus
from thecal.units import Q_

SERIAL = "SN-TEST"
MAX_AGE = Q_(60, "s")  # test input: staleness bound in implant time
# Wall-clock wait for an acknowledgement: long enough for a reply on a busy CI machine (0.5 s
# once timed out on a 50-day interrogation there), short enough for the lost-ack tests.
ACK_TIMEOUT_S = 3.0


def program(library: DrugLibrary, rate: str = "0.5 mL/d", with_ptb: bool = True) -> Program:
    ptb = (
        patient_bolus(Q_("0.02 mL"), Q_("10 min"), Q_("1 h"), 3) if with_ptb else None
    )  # 3 a day, lockout 1 h: test inputs
    return simple_program(morphine(library), rate, "2 mL", ptb)


def implant(
    catalog: DeviceCatalog, library: DrugLibrary, model: str = "SynchroMed II 8637-40"
) -> SimulatedPump:
    dev = pump(catalog, library, model)
    filled(dev, "20 mL")
    assert dev.write_program(program(library)).state_changed
    return dev


@dataclass
class Rig:
    dev: SimulatedPump
    server: ImplantServer
    secret: bytes
    threads: list[threading.Thread]

    def connect(
        self, role: Role = Role.CLINICIAN, *, drop_replies: float = 0.0, seed: int = 0
    ) -> tuple[LinkClient, FaultyTransport]:
        """A client connected through an in-process pair; the implant's sends go through a
        FaultyTransport (``drop_replies`` may be changed later to drop acknowledgements)."""
        client_end, server_end = InProcessTransport.pair()
        faulty = FaultyTransport(server_end, random.Random(seed), drop=drop_replies)
        t = threading.Thread(target=self.server.serve_transport, args=(faulty,), daemon=True)
        t.start()
        self.threads.append(t)
        key = derive_role_key(self.secret, SERIAL, role)
        client = LinkClient(
            client_end,
            Initiator(SERIAL, role, key, time.monotonic, logger=log_link_event),
            time.monotonic,
            ack_timeout_s=ACK_TIMEOUT_S,
        )
        client.connect(2.0)
        return client, faulty

    def clinician(self, library: DrugLibrary, catalog: DeviceCatalog) -> ClinicianProgrammer:
        client, _ = self.connect()
        return ClinicianProgrammer(client, library, catalog.pump)

    def patient(self) -> PatientController:
        client, _ = self.connect(Role.PATIENT)
        return PatientController(client)

    @property
    def handler(self) -> ImplantCommandHandler:
        return self.server.handler


@contextmanager
def rig(
    catalog: DeviceCatalog, library: DrugLibrary, model: str = "SynchroMed II 8637-40"
) -> Iterator[Rig]:
    dev = implant(catalog, library, model)
    secret = generate_secret()
    # The clock does not follow wall time here: tests move it explicitly with dev.advance.
    handler = ImplantCommandHandler(
        dev,
        library.get,
        ServerSettings(MAX_AGE, journal_size=256, page_bytes=48_000),
        logger=command_logger,
    )
    server = ImplantServer(handler, secret)
    r = Rig(dev, server, secret, [])
    try:
        yield r
    finally:
        server.stop.set()
        for t in r.threads:
            t.join(timeout=3.0)
