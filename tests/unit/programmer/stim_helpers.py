"""A virtual IPG served in-process on a thread, and a clinician programmer and a patient
remote connected to it. Values that are not public are test inputs (see the IPG helpers)."""

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.unit.implant.stimulator.helpers import RECHARGEABLE, device
from thecal.adapters.implant_server import ImplantServer, command_logger
from thecal.implant.stimulator_device import SimulatedStimulator
from thecal.link import Initiator, Role, derive_role_key, generate_secret
from thecal.link.transport import FaultyTransport, InProcessTransport
from thecal.programmer.commands import Command, Op, Reply
from thecal.programmer.implant_server import ImplantCommandHandler, ServerSettings, Staging
from thecal.programmer.link_client import LinkClient, log_link_event
from thecal.programmer.remote import PatientRemote
from thecal.programmer.stimulator import StimulatorProgrammer
from thecal.units import Q_

MAX_AGE = Q_(60, "s")  # test input: staleness bound in implant time
# Wall-clock wait for an acknowledgement: long enough for a reply on a busy CI machine (0.5 s
# once timed out on a 50-day interrogation there), short enough for the lost-ack tests.
ACK_TIMEOUT_S = 3.0
SETTINGS = ServerSettings(MAX_AGE, journal_size=256, page_bytes=48_000)  # test inputs


def stim(base: dict[str, Any] = RECHARGEABLE, **changes: Any) -> SimulatedStimulator:
    """The rechargeable test IPG with groups A (running) and B, group A's area 'back' at 3 mA,
    the patient's range 2 to 4 mA (test inputs)."""
    dev: SimulatedStimulator = device(base, **changes)
    return dev


def handler(dev: SimulatedStimulator | None = None) -> ImplantCommandHandler:
    return ImplantCommandHandler(dev or stim(), None, SETTINGS)


def run(
    h: ImplantCommandHandler,
    op: Op,
    args: dict[str, Any] | None = None,
    role: Role = Role.CLINICIAN,
    staging: Staging | None = None,
    issued_at: datetime | None = None,
    command_id: str = "",
) -> Reply:
    """One command straight to the handler (no link), issued at the implant's clock."""
    cid = command_id or f"c{len(h.journal())}-{op.value}-{time.monotonic_ns()}"
    cmd = Command(op, cid, issued_at or h.device.read_clock(), args or {})
    return h.execute(cmd, role, staging or Staging())


@dataclass
class StimRig:
    dev: SimulatedStimulator
    server: ImplantServer
    secret: bytes
    threads: list[threading.Thread]
    faulty: FaultyTransport | None = None

    def connect(self, role: Role = Role.CLINICIAN, key_role: Role | None = None) -> LinkClient:
        """A client for ``role`` holding ``key_role``'s key (default its own); the implant's
        sends go through :attr:`faulty` (set its ``drop`` to lose acknowledgements)."""
        client_end, server_end = InProcessTransport.pair()
        self.faulty = FaultyTransport(server_end, random.Random(0), drop=0.0)
        t = threading.Thread(target=self.server.serve_transport, args=(self.faulty,), daemon=True)
        t.start()
        self.threads.append(t)
        key = derive_role_key(self.secret, self.dev.serial, key_role or role)
        client = LinkClient(
            client_end,
            Initiator(self.dev.serial, role, key, time.monotonic, logger=log_link_event),
            time.monotonic,
            ack_timeout_s=ACK_TIMEOUT_S,
        )
        client.connect(2.0)
        return client

    def clinician(self) -> StimulatorProgrammer:
        return StimulatorProgrammer(self.connect())

    def remote(self) -> PatientRemote:
        return PatientRemote(self.connect(Role.REMOTE))

    @property
    def handler(self) -> ImplantCommandHandler:
        return self.server.handler


@contextmanager
def stim_rig(dev: SimulatedStimulator | None = None) -> Iterator[StimRig]:
    dev = dev or stim()
    secret = generate_secret()
    h = ImplantCommandHandler(dev, None, SETTINGS, logger=command_logger)
    server = ImplantServer(h, secret)
    r = StimRig(dev, server, secret, [])
    try:
        yield r
    finally:
        server.stop.set()
        for t in r.threads:
            t.join(timeout=3.0)
