"""Who may hold a connection to the implant, and for how long (pure: no sockets, no clock).

The implant has a handful of file descriptors and threads, and anyone in radio range can open a
connection. Unauthenticated peers must not be able to hold them: a connection that does not
finish its handshake in time, sends nothing, or dribbles a frame byte by byte (slowloris) is
closed, and no peer address may hold more than a few connections at once. The socket loop in
:mod:`thecal.adapters.implant_server` applies these decisions; see ``docs/link-protocol.md``
§9.1.
"""

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class ConnectionLimits:
    """Connection timeouts (seconds) and caps, implant side.

    Product choices, not protocol constants (no public source sets them): the shipped values and
    their reasons are in ``thecal/data/link.toml`` ``[connection]``
    (:func:`thecal.link.settings.build_link_settings`). A limit is reached when
    ``now − start ≥ limit``.

    * ``handshake_s``: from accepting the connection to an established session.
    * ``idle_s``: from the last complete frame received.
    * ``frame_s``: from the first byte of a frame to its last (ends a slowloris).
    * ``max_per_peer``: connections one peer address (host, whatever its port) may hold.
    * ``max_total``: connections the implant holds at once (threads, file descriptors).
    """

    handshake_s: float
    idle_s: float
    frame_s: float
    max_per_peer: int
    max_total: int

    def __post_init__(self) -> None:
        for name in ("handshake_s", "idle_s", "frame_s"):
            value = getattr(self, name)
            # `not value > 0` also catches NaN.
            if not value > 0 or value == float("inf"):
                raise ValueError(f"{name} must be a finite number of seconds above zero")
        if self.max_per_peer < 1 or self.max_total < 1:
            raise ValueError("max_per_peer and max_total must be at least 1")


def peer_address(peer: str) -> str:
    """The host part of ``"host:port"`` (``"[v6]:port"`` too); anything else unchanged.

    Back-off and connection caps are kept per address: a new connection gets a new source port,
    so a key with the port would let every connection escape them.
    """
    host, sep, port = peer.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return peer
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


@dataclass(frozen=True)
class Admitted:
    """A slot taken: ``id`` names it; ``evict`` names a connection to close now to make room
    (the oldest one still without an established session), or None."""

    id: int
    evict: int | None = None


class Admission:
    """Counts open connections per peer address and in total, and decides who gets a slot.

    * A peer address at ``max_per_peer`` is refused (whatever its port).
    * At ``max_total``, the oldest connection that has not completed its handshake is evicted
      to make room; if every connection is authenticated, the newcomer is refused. Holding
      slots without a key therefore cannot lock the programmer out: a flood of connections
      from many addresses pushes out its own oldest members, and the programmer's handshake
      completes within the time it takes the flood to open ``max_total`` more.

    Not thread-safe: the caller serialises calls (the accept loop and the connection threads
    share one lock).
    """

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._open: Counter[str] = Counter()
        self._address: dict[int, str] = {}
        self._unauthenticated: dict[int, None] = {}  # insertion order = oldest first
        self._next_id = 0
        self.refused = 0
        """Connections refused so far (for logs and tests)."""
        self.evicted = 0
        """Unauthenticated connections evicted to make room so far."""

    @property
    def total(self) -> int:
        """Connections holding a slot."""
        return len(self._address)

    def admit(self, peer: str) -> Admitted | None:
        """Take a slot for ``peer`` if the caps allow it (evicting if need be); None if refused."""
        address = peer_address(peer)
        if self._open[address] >= self.limits.max_per_peer:
            self.refused += 1
            return None
        victim: int | None = None
        if self.total >= self.limits.max_total:
            if not self._unauthenticated:
                self.refused += 1
                return None
            victim = next(iter(self._unauthenticated))
            self.release(victim)
            self.evicted += 1
        self._next_id += 1
        conn = self._next_id
        self._address[conn] = address
        self._unauthenticated[conn] = None
        self._open[address] += 1
        return Admitted(conn, victim)

    def established(self, conn: int) -> None:
        """Connection ``conn`` has an authenticated session: it is never evicted."""
        self._unauthenticated.pop(conn, None)

    def release(self, conn: int) -> None:
        """Give back the slot of ``conn`` (no-op if already given back, e.g. evicted)."""
        address = self._address.pop(conn, None)
        if address is None:
            return
        self._unauthenticated.pop(conn, None)
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def count(self, peer: str) -> int:
        """Open connections from ``peer``'s address."""
        return self._open.get(peer_address(peer), 0)


def expiry(
    limits: ConnectionLimits,
    now: float,
    *,
    accepted_at: float,
    established: bool,
    last_frame_at: float,
    partial_since: float | None,
) -> str | None:
    """Why a connection must be closed now (``handshake`` | ``idle`` | ``partial-frame``), or
    None. Times are monotonic seconds; ``partial_since`` is when the first byte of a frame not
    yet complete arrived (None when no frame is half-received)."""
    if not established and now - accepted_at >= limits.handshake_s:
        return "handshake"
    if partial_since is not None and now - partial_since >= limits.frame_s:
        return "partial-frame"
    if now - last_frame_at >= limits.idle_s:
        return "idle"
    return None


__all__ = ["Admission", "Admitted", "ConnectionLimits", "expiry", "peer_address"]
