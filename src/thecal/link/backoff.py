"""Exponential back-off after failed authentications, kept per peer address (implant side)."""

from collections import OrderedDict

from thecal.link.admission import peer_address
from thecal.link.errors import BackoffError
from thecal.link.session_state import Clock


class AuthBackoff:
    """Exponential back-off after failed authentications, kept per peer address (implant side).

    Peers are keyed by address (:func:`~thecal.link.admission.peer_address`: the host of
    ``host:port``), not by connection: every new connection has a new source port, and keying
    by it would let each one escape the back-off. After ``n`` consecutive failures a peer
    address may not try again until ``min(base_s * 2**(n-1),
    max_s)`` seconds after the last failure. Success clears the peer. At most ``max_peers``
    peers are tracked (least recently failed forgotten first) so the table cannot grow without
    bound.
    """

    def __init__(self, now: Clock, *, base_s: float, max_s: float, max_peers: int) -> None:
        """Numbers from ``thecal/data/link.toml`` ``[auth_backoff]`` (product choices)."""
        # Written so that NaN fails too.
        if not (0 < base_s <= max_s < float("inf")) or max_peers < 1:
            raise ValueError("need 0 < base_s <= max_s and max_peers >= 1")
        self._now = now
        self.base_s = base_s
        self.max_s = max_s
        self.max_peers = max_peers
        self._peers: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def failures(self, peer: str) -> int:
        """Consecutive failures recorded for ``peer``'s address."""
        return self._peers.get(peer_address(peer), (0, 0.0))[0]

    def delay_s(self, failures: int) -> float:
        """Wait after ``failures`` consecutive failures, in seconds (0 for none)."""
        if failures <= 0:
            return 0.0
        # Cap the exponent too: 2**n for a huge n would be a needless big integer.
        return min(self.base_s * 2.0 ** min(failures - 1, 64), self.max_s)

    def retry_after_s(self, peer: str) -> float:
        """Seconds ``peer`` must still wait (0 if it may try now)."""
        count, last = self._peers.get(peer_address(peer), (0, 0.0))
        return max(0.0, last + self.delay_s(count) - self._now())

    def check(self, peer: str) -> None:
        """Raise :class:`BackoffError` if ``peer`` is still waiting."""
        wait = self.retry_after_s(peer)
        if wait > 0:
            raise BackoffError(wait)

    def record_failure(self, peer: str) -> float:
        """Count one failure; return the new wait in seconds."""
        count = self.failures(peer) + 1
        address = peer_address(peer)
        self._peers[address] = (count, self._now())
        self._peers.move_to_end(address)
        while len(self._peers) > self.max_peers:
            self._peers.popitem(last=False)
        return self.delay_s(count)

    def record_success(self, peer: str) -> None:
        """Forget the failures of ``peer``'s address."""
        self._peers.pop(peer_address(peer), None)
