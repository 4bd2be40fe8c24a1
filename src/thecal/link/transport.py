"""Frame transports: in-process pair (tests), TCP on 127.0.0.1, and a fault-injecting wrapper.

A transport moves whole frames (bytes); it knows nothing of keys or sequence numbers. This is
the I/O edge of the link layer: it may use sockets, threads and the monotonic clock. The
protocol logic in :mod:`thecal.link.session` does not.
"""

import contextlib
import queue
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from thecal.link.errors import LinkError, TransportClosed, TransportError, TransportTimeout
from thecal.link.frames import MAX_FRAME_LEN, FrameDecoder
from thecal.link.session import Initiator, Responder

LOOPBACK = "127.0.0.1"


class Transport(Protocol):
    """Moves whole frames between two ends."""

    def send(self, frame: bytes) -> None:
        """Send one frame (raises TransportClosed if closed)."""
        ...

    def receive(self, timeout_s: float) -> bytes:
        """Next frame; TransportTimeout after ``timeout_s`` seconds, TransportClosed if closed."""
        ...

    def close(self) -> None:
        """Close this end (idempotent)."""
        ...


_CLOSED = object()


class InProcessTransport:
    """One end of an in-memory, thread-safe, reliable, ordered frame pipe."""

    def __init__(self, inbox: "queue.Queue[object]", outbox: "queue.Queue[object]") -> None:
        self._inbox = inbox
        self._outbox = outbox
        self._closed = False
        self.peer = "in-process"

    @classmethod
    def pair(cls) -> tuple["InProcessTransport", "InProcessTransport"]:
        """Two connected ends."""
        a: queue.Queue[object] = queue.Queue()
        b: queue.Queue[object] = queue.Queue()
        return cls(a, b), cls(b, a)

    def send(self, frame: bytes) -> None:
        """Queue a frame for the other end."""
        if self._closed:
            raise TransportClosed("transport closed")
        if len(frame) > MAX_FRAME_LEN:
            raise TransportError(f"frame of {len(frame)} bytes exceeds {MAX_FRAME_LEN}")
        self._outbox.put(bytes(frame))

    def receive(self, timeout_s: float) -> bytes:
        """Next frame from the other end."""
        if self._closed:
            raise TransportClosed("transport closed")
        try:
            item = self._inbox.get(timeout=timeout_s)
        except queue.Empty:
            raise TransportTimeout(f"nothing within {timeout_s} s") from None
        if item is _CLOSED:
            self._closed = True
            raise TransportClosed("closed by peer")
        assert isinstance(item, bytes)
        return item

    def close(self) -> None:
        """Close this end; the other end sees TransportClosed after its queued frames."""
        if not self._closed:
            self._closed = True
            self._outbox.put(_CLOSED)


class TcpTransport:
    """A connected TCP socket carrying frames (length-prefixed by the frame format itself)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._decoder = FrameDecoder()
        self._ready: deque[bytes] = deque()
        self._send_lock = threading.Lock()
        self._closed = False
        host, port = sock.getpeername()[:2]
        self.peer = f"{host}:{port}"
        self.partial_since: float | None = None
        """Monotonic time the first byte of a not yet complete frame arrived (None if no frame
        is half-received): the server closes a connection that dribbles a frame (slowloris)."""

    def send(self, frame: bytes) -> None:
        """Send one frame."""
        if self._closed:
            raise TransportClosed("transport closed")
        with self._send_lock:
            try:
                self._sock.sendall(frame)
            except OSError as exc:
                self.close()
                raise TransportClosed(str(exc)) from exc

    def receive(self, timeout_s: float) -> bytes:
        """Next frame. A malformed stream (FrameError) closes the connection: no resync."""
        deadline = time.monotonic() + timeout_s
        while not self._ready:
            if self._closed:
                raise TransportClosed("transport closed")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportTimeout(f"nothing within {timeout_s} s")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(MAX_FRAME_LEN)
            except TimeoutError:
                raise TransportTimeout(f"nothing within {timeout_s} s") from None
            except OSError as exc:
                self.close()
                raise TransportClosed(str(exc)) from exc
            if not chunk:
                self.close()
                raise TransportClosed("closed by peer")
            try:
                frames = self._decoder.feed(chunk)
            except LinkError:
                self.close()
                raise
            self._ready.extend(frames)
            if self._decoder.pending == 0:
                self.partial_since = None
            elif frames or self.partial_since is None:
                self.partial_since = time.monotonic()  # a new frame started in this chunk
        return self._ready.popleft()

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()


class TcpListener:
    """Listens on 127.0.0.1 only (the link is never exposed beyond loopback here)."""

    def __init__(self, port: int = 0, host: str = LOOPBACK, backlog: int = 1024) -> None:
        if host != LOOPBACK:
            raise ValueError(f"the link listens on {LOOPBACK} only, not {host!r}")
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((LOOPBACK, port))
            # A deep kernel queue (capped by net.core.somaxconn) absorbs a burst of connections
            # while the accept loop sheds them; queued ones cost no descriptor of ours.
            self._sock.listen(backlog)
        except OSError:
            self._sock.close()
            raise

    @property
    def port(self) -> int:
        """The bound port (useful when 0 asked for an ephemeral one)."""
        return int(self._sock.getsockname()[1])

    def accept(self, timeout_s: float) -> TcpTransport:
        """Wait up to ``timeout_s`` seconds for one connection."""
        self._sock.settimeout(timeout_s)
        try:
            conn, _ = self._sock.accept()
        except TimeoutError:
            raise TransportTimeout(f"no connection within {timeout_s} s") from None
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return TcpTransport(conn)
        except OSError:
            conn.close()  # the peer reset before we looked at it: never leak the descriptor
            raise

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called (an accept error then ends the accept loop)."""
        return self._sock.fileno() == -1

    def close(self) -> None:
        """Stop listening."""
        self._sock.close()

    def __enter__(self) -> "TcpListener":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def tcp_connect(port: int, timeout_s: float, host: str = LOOPBACK) -> TcpTransport:
    """Connect to a listener on 127.0.0.1."""
    if host != LOOPBACK:
        raise ValueError(f"the link connects to {LOOPBACK} only, not {host!r}")
    sock = socket.create_connection((LOOPBACK, port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return TcpTransport(sock)


@dataclass(frozen=True)
class Fault:
    """One injected fault: ``kind`` is drop | corrupt | duplicate | delay | reorder."""

    kind: str
    frame_index: int
    detail: str = ""


class FaultyTransport:
    """Wraps a transport and injects faults into what this end *sends* (seeded, reproducible).

    Probabilities are per frame and checked in the order drop, corrupt, duplicate, delay,
    reorder; at most one of drop/corrupt, then duplicate/delay/reorder may add to it.
    ``reorder`` holds a frame back and sends it after the next one. Wrap both ends to disturb
    both directions. ``faults`` records what was done, for assertions.
    """

    def __init__(
        self,
        inner: Transport,
        rng: random.Random,
        *,
        drop: float = 0.0,
        corrupt: float = 0.0,
        duplicate: float = 0.0,
        delay: float = 0.0,
        delay_s: float = 0.0,
        reorder: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        for name, p in (
            ("drop", drop),
            ("corrupt", corrupt),
            ("duplicate", duplicate),
            ("delay", delay),
            ("reorder", reorder),
        ):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} probability must be within [0, 1]")
        self.inner = inner
        self._rng = rng
        self.drop, self.corrupt, self.duplicate = drop, corrupt, duplicate
        self.delay, self.delay_s, self.reorder = delay, delay_s, reorder
        self._sleep = sleep
        self._held: bytes | None = None
        self._index = 0
        self.faults: list[Fault] = []

    def send(self, frame: bytes) -> None:
        """Send ``frame`` through the fault model."""
        index = self._index
        self._index += 1
        rng = self._rng
        if rng.random() < self.drop:
            self.faults.append(Fault("drop", index))
            return
        if rng.random() < self.corrupt and frame:
            data = bytearray(frame)
            pos = rng.randrange(len(data))
            bit = rng.randrange(8)
            data[pos] ^= 1 << bit
            frame = bytes(data)
            self.faults.append(Fault("corrupt", index, f"byte {pos} bit {bit}"))
        copies = 1
        if rng.random() < self.duplicate:
            copies = 2
            self.faults.append(Fault("duplicate", index))
        if rng.random() < self.delay:
            self.faults.append(Fault("delay", index, f"{self.delay_s} s"))
            self._sleep(self.delay_s)
        if self._held is None and rng.random() < self.reorder:
            self.faults.append(Fault("reorder", index))
            self._held = frame
            return
        for _ in range(copies):
            self.inner.send(frame)
        if self._held is not None:
            held, self._held = self._held, None
            self.inner.send(held)

    def receive(self, timeout_s: float) -> bytes:
        """Receive from the wrapped transport (faults are injected on send only)."""
        return self.inner.receive(timeout_s)

    def close(self) -> None:
        """Close the wrapped transport (a held frame is lost, like a dropped one)."""
        self.inner.close()


def run_initiator_handshake(transport: Transport, initiator: Initiator, timeout_s: float) -> None:
    """Client side: HELLO, wait for CHALLENGE, send RESPONSE. Session ESTABLISHED on return."""
    transport.send(initiator.hello())
    transport.send(initiator.receive_challenge(transport.receive(timeout_s)))


def run_responder_handshake(transport: Transport, responder: Responder, timeout_s: float) -> None:
    """Implant side: wait for HELLO, send CHALLENGE, wait for RESPONSE.

    A refusal is answered with an ERROR frame (code only, plus retry-after for BACKOFF) and
    re-raised.
    """
    try:
        transport.send(responder.receive_hello(transport.receive(timeout_s)))
        responder.receive_response(transport.receive(timeout_s))
    except LinkError as exc:
        retry = float(getattr(exc, "retry_after_s", 0.0))
        with contextlib.suppress(TransportError):
            transport.send(responder.error_frame(exc.code, retry_after_s=retry))
        raise
