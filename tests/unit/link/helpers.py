"""Shared helpers for the link-layer tests: a controllable clock and session pairs."""

from dataclasses import dataclass, field

from thecal.link import (
    AuthBackoff,
    Initiator,
    LinkEvent,
    LinkTimeouts,
    Responder,
    Role,
    derive_role_key,
)

SERIAL = "TH-0001"
SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))
TIMEOUTS = LinkTimeouts(handshake_s=10.0, idle_s=60.0, absolute_s=600.0)


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


@dataclass
class Link:
    """An implant-side responder and a programmer-side initiator sharing one clock and log."""

    clock: FakeClock
    backoff: AuthBackoff
    client: Initiator
    server: Responder
    events: list[LinkEvent] = field(default_factory=list)

    def handshake(self) -> None:
        challenge = self.server.receive_hello(self.client.hello())
        self.server.receive_response(self.client.receive_challenge(challenge))


def make_link(
    role: Role = Role.CLINICIAN,
    *,
    client_key: bytes | None = None,
    client_serial: str = SERIAL,
    clock: FakeClock | None = None,
    backoff: AuthBackoff | None = None,
) -> Link:
    """A fresh, not yet handshaken pair; the client key defaults to the genuine role key."""
    clock = clock or FakeClock()
    events: list[LinkEvent] = []
    backoff = backoff or AuthBackoff(clock, base_s=1.0, max_s=60.0, max_peers=1024)
    key = client_key if client_key is not None else derive_role_key(SECRET, SERIAL, role)
    client = Initiator(
        client_serial, role, key, clock, timeouts=TIMEOUTS, logger=events.append, peer="implant"
    )
    server = Responder(
        SERIAL, SECRET, clock, backoff, timeouts=TIMEOUTS, logger=events.append, peer="prog-1"
    )
    return Link(clock, backoff, client, server, events)


def established(role: Role = Role.CLINICIAN) -> Link:
    """A pair that has completed the handshake."""
    pair = make_link(role)
    pair.handshake()
    return pair
