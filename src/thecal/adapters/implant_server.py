"""Serve a virtual implant over the authenticated link (TCP on 127.0.0.1 or any transport).

I/O edge of :mod:`thecal.programmer.implant_server`: threads, sockets, the wall clock and
logging live here.

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
import tomllib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from thecal.adapters.link_settings import load_link_settings
from thecal.adapters.plan_files import load_plan
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.pump import Program
from thecal.implant.device import ImplantConfig, SimulatedPump, make_device
from thecal.implant.limits import hard_limits_from_library
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
from thecal.therapy.plan import resolve
from thecal.therapy.plan_file_typed import typed_ingredients, typed_patient_bolus, typed_schedule
from thecal.therapy.plan_model import FillSettings, Plan, PumpSettings
from thecal.units import Dimension, InputError, parse_quantity

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


# --- building the virtual implant -------------------------------------------------------------


@dataclass(frozen=True)
class DeviceInputs:
    """Values a plan file does not hold but the simulator needs (not public: required)."""

    serial: str
    critical_alarm_repeat: Qty
    stroke_volume: Qty | None = None
    noncritical_alarm_repeat: Qty | None = None
    low_reservoir_alarm: Qty | None = None


def load_source(path: Path) -> tuple[Plan, DeviceInputs | None]:
    """A plan file, or a scenario file read as a plan (its device, program and initial fill;
    faults and actions are not replayed by the server). Scenario files carry device inputs."""
    with path.open("rb") as handle:
        doc = tomllib.load(handle)
    if "device" not in doc:
        return load_plan(path).to_typed(), None
    from thecal.adapters.scenario_files import load_scenario

    sc = load_scenario(path)
    d = sc.device
    T, V = Dimension.TIME, Dimension.VOLUME
    alarm = d.low_reservoir_alarm
    plan = Plan(
        title=sc.title,
        at=sc.start,
        patient=sc.patient.to_typed(),
        pump=PumpSettings(
            model=d.model,
            low_reservoir_alarm=(
                parse_quantity(alarm, "device.low_reservoir_alarm", V) if alarm else None
            ),
        ),
        admixture=typed_ingredients(sc.admixture, "admixture"),
        schedule=typed_schedule(sc.schedule),
        patient_bolus=typed_patient_bolus(sc.patient_bolus) if sc.patient_bolus else None,
        fill=FillSettings(
            volume=parse_quantity(sc.fill.volume, "fill.volume", V),
            at=sc.start,
            first_fill=sc.fill.first_fill,
        ),
    )
    inputs = DeviceInputs(
        d.serial,
        parse_quantity(d.critical_alarm_repeat, "device.critical_alarm_repeat", T),
        parse_quantity(d.stroke_volume, "device.stroke_volume", V) if d.stroke_volume else None,
        parse_quantity(d.noncritical_alarm_repeat, "device.noncritical_alarm_repeat", T)
        if d.noncritical_alarm_repeat
        else None,
    )
    return plan, inputs


def implant_from_plan(
    plan: Plan, library: DrugLibrary, catalog: DeviceCatalog, inputs: DeviceInputs
) -> SimulatedPump:
    """A virtual implant running ``plan``'s program, filled with its ``fill`` (if any), its
    clock starting at the plan's ``at``."""
    resolved = resolve(plan, library, catalog)
    spec = catalog.pump(plan.pump.model, "pump.model")
    config = ImplantConfig(
        serial=inputs.serial,
        start=plan.at,
        critical_alarm_repeat=inputs.critical_alarm_repeat,
        stroke_volume=inputs.stroke_volume,
        noncritical_alarm_repeat=inputs.noncritical_alarm_repeat,
    )
    patient = resolved.program.patient.context()
    pump = make_device(spec, config, hard_limits_from_library(library, patient))
    fill = resolved.fill
    if fill is not None:
        pump.fill_reservoir(fill.volume)
        pump.refill(fill.volume)
    threshold = inputs.low_reservoir_alarm
    if threshold is None:
        threshold = plan.pump.low_reservoir_alarm
    if threshold is None:
        threshold = spec.low_reservoir_alarm
    if threshold is None:
        raise InputError(
            "low_reservoir_alarm", f"is required for {spec.model}", "a volume such as '2 mL'"
        )
    program = Program(
        resolved.schedule, resolved.admixture, threshold, resolved.program.patient_bolus
    )
    result = pump.write_program(program)
    if not result.state_changed:
        raise InputError(
            "plan",
            "the implant refused the plan's program: "
            + (result.reason or "; ".join(f.message for f in result.findings)),
        )
    return pump


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
