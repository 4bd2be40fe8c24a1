"""Serve a virtual implant over the authenticated link (TCP on 127.0.0.1 or any transport).

I/O edge of :mod:`thecal.programmer.implant_server`: threads, sockets, the wall clock and
logging live here. Building the virtual implant from a plan or scenario file is
:mod:`thecal.adapters.implant_build` (its names are re-exported here).

**Simulated clock.** The implant's simulated time follows the wall clock, scaled: device time =
start + ``time_scale`` × (monotonic seconds since the server started). It is applied lazily —
before every command the pump is advanced to that time (the engine is event-driven, so one
advance per command costs the same as many small ones). ``time_scale = 1`` is real time;
3600 makes one wall second an implant hour (the staleness bound is in implant time, so scale
it too).

Every link event (send, receive, refusal, handshake, timeout) and every command-layer event is
logged with the device serial (Python ``logging``, logger ``thecal.implant``).
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from thecal.adapters.implant_build import DeviceInputs, implant_from_plan, load_source
from thecal.adapters.link_settings import load_link_settings
from thecal.implant.device import SimulatedPump
from thecal.link import (
    AuthBackoff,
    LinkError,
    LinkEvent,
    LinkTimeouts,
    Responder,
    TransportClosed,
    TransportTimeout,
)
from thecal.link.admission import Admission, ConnectionLimits, expiry
from thecal.link.errors import TransportError
from thecal.link.transport import TcpListener, TcpTransport, Transport
from thecal.programmer.commands import Qty
from thecal.programmer.implant_server import (
    ImplantCommandHandler,
    ImplantConnection,
    ServerLogRecord,
    ServerSettings,
)
from thecal.therapy.library import DrugLibrary

log = logging.getLogger("thecal.implant")


def link_logger(event: LinkEvent) -> None:
    """Log one link event with the serial (debug for traffic, warning for refusals)."""
    level = logging.WARNING if event.event in ("reject", "denied", "backoff") else logging.DEBUG
    log.log(level, "%s", event.describe())


def command_logger(record: ServerLogRecord) -> None:
    """Log one command-layer record with the serial."""
    level = logging.WARNING if record.event in ("refused", "error") else logging.INFO
    log.log(
        level,
        "serial=%s peer=%s %s op=%s id=%s %s",
        record.serial,
        record.peer,
        record.event,
        record.op,
        record.command_id,
        record.detail,
    )


class Simulated(Protocol):
    """A simulated implant (pump or IPG): its simulated time and how to move it on."""

    @property
    def now(self) -> datetime: ...

    def advance(self, until: datetime) -> None: ...


class ScaledClock:
    """Advance ``pump`` (any simulated implant) to start + scale × elapsed wall seconds
    (called before each command)."""

    def __init__(
        self,
        pump: Simulated,
        scale: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.pump = pump
        self.scale = scale
        self._monotonic = monotonic
        self._t0 = monotonic()
        self._start: datetime = pump.now

    def target(self) -> datetime:
        return self._start + timedelta(seconds=(self._monotonic() - self._t0) * self.scale)

    def __call__(self) -> None:
        target = self.target()
        if target > self.pump.now:
            self.pump.advance(target)


# --- serving ------------------------------------------------------------------------------


def serve_connection(
    transport: Transport,
    connection: ImplantConnection,
    lock: threading.Lock,
    *,
    poll_s: float = 0.5,
    stop: threading.Event | None = None,
    limits: ConnectionLimits | None = None,
    on_established: Callable[[], None] | None = None,
) -> str:
    """Pump frames between ``transport`` and ``connection`` until either side closes or a
    connection limit is reached (handshake, idle, partial frame: ``limits``, default the
    shipped ``link.toml``); return why it ended. ``on_established`` is called once, when the
    session is authenticated.

    Device access is serialised by ``lock`` (one implant, many connections). Nothing the peer
    sends can end this with an exception: a framing error (the stream cannot be
    resynchronised) closes the connection with one warning and no traceback."""
    limits = limits or load_link_settings().connection
    # Poll often enough that each limit is enforced within a quarter of its length.
    poll = min(poll_s, limits.handshake_s / 4, limits.frame_s / 4, limits.idle_s / 4)
    serial, peer = connection.handler.serial, connection.responder.peer
    accepted_at = last_frame_at = time.monotonic()
    why = "stopped"
    announced = False
    try:
        while stop is None or not stop.is_set():
            try:
                frame = transport.receive(poll)
            except TransportTimeout:
                with lock:
                    # A timed-out or closed session is finished (the link logs the timeout).
                    if connection.responder.expiry_reason() is not None or connection.closed:
                        why = "session expired"
                        break
            else:
                last_frame_at = time.monotonic()
                with lock:
                    out = connection.receive(frame)
                for f in out:
                    transport.send(f)
                if connection.closed:
                    why = "session closed"
                    break
                if not announced and connection.responder.established:
                    announced = True
                    if on_established is not None:
                        on_established()
            reason = expiry(
                limits,
                time.monotonic(),
                accepted_at=accepted_at,
                established=connection.responder.established,
                last_frame_at=last_frame_at,
                partial_since=getattr(transport, "partial_since", None),
            )
            if reason is not None:
                why = f"{reason} timeout"
                log.warning("serial=%s peer=%s %s: connection closed", serial, peer, why)
                break
    except TransportClosed:
        why = "closed by peer"
    except TransportError as exc:
        why = "transport error"
        log.warning("serial=%s peer=%s transport error %s", serial, peer, exc)
    except LinkError as exc:
        # The stream reader refused a frame (oversized, too short): the peer is broken or hostile.
        why = "framing error"
        log.warning("serial=%s peer=%s framing error, connection closed: %s", serial, peer, exc)
    except Exception:
        # A bug must not take the implant down with it: log it loudly, end this connection only.
        why = "internal error"
        log.exception("serial=%s peer=%s internal error, connection closed", serial, peer)
    finally:
        with lock:
            connection.end("link ended")
        transport.close()
        log.info("serial=%s peer=%s session ended (%s)", serial, peer, why)
    return why


class ImplantServer:
    """One virtual implant answering any number of sequential or concurrent connections.

    ``limits`` bounds what a peer can hold (timeouts, connections per address and in total);
    ``timeouts`` are the link sessions' own (protocol) timeouts.
    """

    def __init__(
        self,
        handler: ImplantCommandHandler,
        implant_secret: bytes,
        *,
        now: Callable[[], float] = time.monotonic,
        limits: ConnectionLimits | None = None,
        timeouts: LinkTimeouts | None = None,
    ) -> None:
        self.handler = handler
        self._secret = implant_secret
        self._now = now
        settings = load_link_settings()
        self.limits = limits or settings.connection
        self.timeouts = timeouts
        b = settings.backoff
        self.backoff = AuthBackoff(now, base_s=b.base_s, max_s=b.max_s, max_peers=b.max_peers)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.admission = Admission(self.limits)
        self._admission_lock = threading.Lock()
        self._live: dict[int, TcpTransport] = {}
        self.accept_errors = 0
        """Accept failures survived (EMFILE and the like), for logs and tests."""
        self.connections: deque[ImplantConnection] = deque(maxlen=64)
        """The most recent connections (bounded: a long-running server must not grow)."""

    def connection(self, peer: str) -> ImplantConnection:
        responder = Responder(
            self.handler.serial,
            self._secret,
            self._now,
            self.backoff,
            timeouts=self.timeouts,
            logger=link_logger,
            peer=peer,
        )
        conn = ImplantConnection(self.handler, responder, command_logger)
        self.connections.append(conn)
        return conn

    def serve_transport(
        self,
        transport: Transport,
        peer: str = "in-process",
        on_established: Callable[[], None] | None = None,
    ) -> str:
        """Serve one connection on this thread; return why it ended."""
        return serve_connection(
            transport,
            self.connection(peer),
            self.lock,
            stop=self.stop,
            limits=self.limits,
            on_established=on_established,
        )

    def _serve_admitted(self, transport: TcpTransport, conn: int) -> None:
        def established() -> None:
            with self._admission_lock:
                self.admission.established(conn)

        try:
            self.serve_transport(transport, transport.peer, established)
        finally:
            with self._admission_lock:
                self.admission.release(conn)
                self._live.pop(conn, None)

    def _admit(self, transport: TcpTransport) -> int | None:
        """A slot for ``transport`` (closing an evicted connection), or None if refused."""
        with self._admission_lock:
            slot = self.admission.admit(transport.peer)
            if slot is None:
                return None
            self._live[slot.id] = transport
            victim = None if slot.evict is None else self._live.pop(slot.evict, None)
        if victim is not None:
            # Its thread sees the socket closed and ends; its slot is already free.
            log.info(
                "serial=%s peer=%s evicted: no session yet, room needed",
                self.handler.serial,
                victim.peer,
            )
            victim.close()
        return slot.id

    def serve_tcp(self, listener: TcpListener, max_connections: int | None = None) -> None:
        """Accept connections on ``listener`` until :attr:`stop` is set (thread per client).

        A connection beyond the per-address cap is closed at once, before any handshake or
        thread; at the total cap the oldest connection without a session is evicted to make
        room (or, if all are authenticated, the newcomer is closed). An accept error (out of
        file descriptors, a peer that reset before it was accepted) is logged and the loop
        keeps serving, pausing briefly (up to 1 s) while the error repeats; only closing the
        listener ends it."""
        served = 0
        threads: list[threading.Thread] = []
        pause = _ACCEPT_PAUSE_S
        serial = self.handler.serial
        log.info("serial=%s listening on 127.0.0.1:%d", serial, listener.port)
        while not self.stop.is_set() and (max_connections is None or served < max_connections):
            try:
                transport = listener.accept(0.2)
            except TransportTimeout:
                continue
            except OSError as exc:
                if listener.closed:
                    break
                self.accept_errors += 1
                log.warning("serial=%s accept failed (%s): still serving", serial, exc)
                self.stop.wait(pause)
                pause = min(pause * 2, _ACCEPT_PAUSE_MAX_S)
                continue
            pause = _ACCEPT_PAUSE_S
            served += 1
            conn = self._admit(transport)
            if conn is None:
                transport.close()
                log.info("serial=%s peer=%s refused: too many connections", serial, transport.peer)
                continue
            t = threading.Thread(target=self._serve_admitted, args=(transport, conn), daemon=True)
            try:
                t.start()
            except RuntimeError as exc:  # no thread left: refuse this one, keep serving
                with self._admission_lock:
                    self.admission.release(conn)
                    self._live.pop(conn, None)
                transport.close()
                log.warning("serial=%s peer=%s refused: %s", serial, transport.peer, exc)
                continue
            threads = [x for x in threads if x.is_alive()]
            threads.append(t)
        for t in threads:
            t.join(timeout=2.0)


_ACCEPT_PAUSE_S = 0.05
_ACCEPT_PAUSE_MAX_S = 1.0


def make_server(
    pump: SimulatedPump,
    library: DrugLibrary,
    implant_secret: bytes,
    max_command_age: Qty | None = None,
    time_scale: float = 1.0,
    *,
    now: Callable[[], float] = time.monotonic,
    limits: ConnectionLimits | None = None,
) -> ImplantServer:
    """A server for ``pump`` whose clock follows wall time × ``time_scale``. Limits not given
    (``max_command_age``, ``limits``) are the shipped ``link.toml`` product choices."""
    settings = load_link_settings()
    handler = ImplantCommandHandler(
        pump,
        library.get,
        ServerSettings(
            max_command_age if max_command_age is not None else settings.max_command_age,
            journal_size=settings.journal_size,
            page_bytes=settings.page_bytes,
        ),
        logger=command_logger,
        advance=ScaledClock(pump, time_scale, now),
    )
    return ImplantServer(handler, implant_secret, now=now, limits=limits)


__all__ = [
    "DeviceInputs",
    "ImplantServer",
    "ScaledClock",
    "command_logger",
    "implant_from_plan",
    "link_logger",
    "load_source",
    "make_server",
    "serve_connection",
]
