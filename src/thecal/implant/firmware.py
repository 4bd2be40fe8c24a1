"""Firmware: the logic that would run on the implant.

It holds the active program, refuses programs and boluses outside its own hard limits, delivers
in whole strokes, keeps its own ESTIMATE of the reservoir, runs the alarm engine, enforces the
patient-bolus lockout and daily maximum, and writes the append-only event log. It never sees the
plant's truth: it commands strokes through ``motor`` and learns only what its sensors report.

This module holds the firmware's state and its command surface; each concern lives in its own
module and works on that state: the commanded-delivery timeline (:mod:`.firmware_delivery`),
reservoir alarms (:mod:`.firmware_reservoir`), the rolling 24 h hard daily limit
(:mod:`.firmware_daily`), boluses (:mod:`.firmware_boluses`) and programs
(:mod:`.firmware_programs`).
"""

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pint

from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind, LogEvent
from thecal.devices.pump import DeviceStatus, DrugPumpCapabilities, Program, bolus_state
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.devices.states import Hold, sorted_holds
from thecal.implant import (
    firmware_boluses,
    firmware_delivery,
    firmware_programs,
    firmware_reservoir,
)
from thecal.implant.alarms import AlarmConfig, AlarmEngine
from thecal.implant.battery import BatteryCalibration
from thecal.implant.clock import EventQueue
from thecal.implant.firmware_daily import daily_finding, straddle
from thecal.implant.firmware_delivery import ML, STROKE_EPS, Ramp, Segment, new_segment
from thecal.implant.limits import FirmwareLimits, VolumeLimit
from thecal.therapy.delivery import DeliveryModel, at_hours
from thecal.therapy.findings import Finding
from thecal.therapy.pump import PumpSpec
from thecal.therapy.schedule import Schedule, continuous
from thecal.units import Q_, Dimension, InputError, check_dimension

__all__ = ["Firmware", "Hold", "SimLogEvent", "require_positive_volume"]


@dataclass(frozen=True, kw_only=True)
class SimLogEvent(LogEvent):
    """A log entry as the simulator keeps it: also the true (simulation) time, which the
    simulator's own reports read. It never goes on the wire (see
    :func:`thecal.programmer.wire_device.event_to_json`)."""

    sim_hours: float

    @property
    def sim_time(self) -> datetime:
        """True (simulation) time of the entry."""
        return at_hours(self.sim_hours)


class Firmware:
    """One device's firmware. Times are float hours since the therapy core's EPOCH ("true"
    simulation time); the device clock is ``true + offset``. Driven by its device object."""

    def __init__(
        self,
        serial: str,
        spec: PumpSpec,
        capabilities: DrugPumpCapabilities,
        limits: FirmwareLimits,
        alarm_config: AlarmConfig,
        queue: EventQueue,
        start_h: float,
        motor: Callable[[int], None],
        battery: BatteryCalibration | None = None,
        stops_when_empty: bool = False,
    ) -> None:
        self.serial = serial
        self.spec = spec
        self.caps = capabilities
        self.limits = limits
        self.queue = queue
        self.motor = motor
        self.stroke = float(capabilities.stroke_volume.to(ML).magnitude)
        self.capacity = float(capabilities.reservoir.to(ML).magnitude)
        self.stops_when_empty = stops_when_empty
        self.log: list[SimLogEvent] = []
        self.now = start_h
        self.start_h = start_h
        self.offset = 0.0
        self.alarms = AlarmEngine(spec, alarm_config, queue, self.write_log)
        self.alarms.now = start_h
        self.program: Program | None = None
        self._thr = 0.0
        self._ptb: tuple[float, float, float, int] | None = None
        self.model: DeliveryModel | None = None
        self._daily = VolumeLimit(math.inf)
        self._window = 0.0
        self.holds: set[Hold] = {Hold.NO_PROGRAM}
        self.ramps: list[Ramp] = []
        self._seg = Segment(start_h, math.inf, 0.0, None, 0.0, 0.0, 0.0)
        self._last_model: DeliveryModel | None = None
        self._cum_of: tuple[DeliveryModel, Callable[[float], float]] | None = None
        self._history: deque[Segment] = deque()
        self.strokes = 0
        self.fill_estimate = 0.0
        self.fill_strokes = 0
        self.ptb_starts: deque[float] = deque()
        self.battery = battery
        self.sessions = 0
        self.eri_h: float | None = None  # simulation hours (schedules the stop)
        self.eos_h: float | None = None
        # The same moments on the device's own clock, recorded when ERI is reached: a status
        # reports what the device knows, never the simulation's true time.
        self.eri_device_h: float | None = None
        self.eos_device_h: float | None = None
        if battery is not None:
            self._q = battery.quiescent_per_hour
            self._e_stroke = battery.per_ml * self.stroke
            self._per_session = battery.per_session
        self.write_log(EventKind.PROVISIONED, f"{spec.model} serial {serial}")

    # -- log --------------------------------------------------------------------------------

    def write_log(
        self,
        kind: EventKind,
        message: str = "",
        values: tuple[tuple[str, float, str], ...] = (),
        alarm: AlarmCondition | None = None,
    ) -> None:
        """Append one entry to the device log (``values``: name, magnitude, unit)."""
        self.log.append(
            SimLogEvent(
                serial=self.serial,
                seq=len(self.log) + 1,
                kind=kind,
                device_hours=self.now + self.offset,
                message=message,
                values=values,
                alarm=alarm,
                sim_hours=self.now,
            )
        )

    def events(self, since_seq: int = 0) -> tuple[SimLogEvent, ...]:
        return tuple(self.log[since_seq:]) if since_seq >= 0 else tuple(self.log)

    # -- commanded volume -------------------------------------------------------------------

    @property
    def delivering(self) -> bool:
        return not self.holds

    def cmd(self, x: float) -> float:
        """Commanded cumulative volume (mL) at true hour ``x`` (≥ the current segment start)."""
        return self._seg.cmd(x)

    def cmd_past(self, x: float) -> float:
        """Commanded cumulative at a past hour within the kept history (about 25 h)."""
        if x >= self._seg.a:
            return self._seg.cmd(x)
        for seg in reversed(self._history):
            if seg.a <= x:
                return seg.cmd(min(x, seg.b))
        return self._history[0].cmd(self._history[0].a) if self._history else 0.0

    def strokes_at(self, x: float) -> int:
        seg = self._seg  # Segment.cmd inlined: the hottest call of a long run
        v = seg.base + seg.rate * (x - seg.a)
        if seg.cum is not None:
            v += seg.cum(x + seg.offset) - seg.m0
        n = math.floor(v / self.stroke + STROKE_EPS)
        return n if n > self.strokes else self.strokes

    def set_hold(self, hold: Hold, on: bool) -> bool:
        """Add or remove a hold; pausing cancels running boluses (no catch-up later)."""
        return firmware_delivery.set_hold(self, hold, on)

    # -- reservoir estimate and battery -----------------------------------------------------

    def estimate_at(self, strokes: int) -> float:
        return self.fill_estimate - (strokes - self.fill_strokes) * self.stroke

    def battery_used(self, x: float, strokes: int) -> float:
        if self.battery is None:
            return 0.0
        return (
            self._q * (x - self.start_h)
            + self._e_stroke * strokes
            + self._per_session * self.sessions
        )

    def telemetry(self) -> None:
        """One telemetry session (every programmer / patient-controller command)."""
        self.sessions += 1

    # -- the clock loop ---------------------------------------------------------------------

    def _crossed(self, hi: float, n_hi: int) -> list[Callable[[float], bool]]:
        return firmware_reservoir.crossed(self, hi, n_hi)

    def run_until(self, until: float) -> None:
        """Jump from event to event up to ``until`` (true hours)."""
        firmware_delivery.run_until(self, until)

    def evaluate(self) -> None:
        """Raise or resolve the state-based conditions at ``now``."""
        firmware_reservoir.evaluate(self)

    # -- program ----------------------------------------------------------------------------

    def check_program(self, program: Program) -> list[Finding]:
        """Every reason the firmware refuses ``program`` (empty = acceptable)."""
        return firmware_programs.check_program(self, program)

    def write_program(self, program: Program) -> CommandResult:
        """Install ``program`` unless the firmware's hard limits refuse it."""
        return firmware_programs.write_program(self, program)

    # -- boluses ----------------------------------------------------------------------------

    def clinician_bolus(self, volume: pint.Quantity, duration: pint.Quantity) -> CommandResult:
        """Start a clinician bolus of ``volume`` (mL) over ``duration`` (h), or refuse it."""
        return firmware_boluses.clinician_bolus(self, volume, duration)

    def patient_bolus_request(self) -> CommandResult:
        """Grant or deny a patient-activated bolus; the firmware enforces lockout (start to
        start) and the maximum number in any rolling 24 h itself."""
        return firmware_boluses.patient_bolus_request(self)

    def patient_boluses_last_24h(self) -> int:
        return firmware_boluses.patient_boluses_last_24h(self)

    # -- refill, clock, stop ----------------------------------------------------------------

    def refill(self, volume: pint.Quantity) -> CommandResult:
        """Record the reservoir volume after a fill (the firmware's estimate restarts here)."""
        return firmware_reservoir.refill(self, volume)

    def set_clock(self, device_hours: float) -> CommandResult:
        new_offset = device_hours - self.now
        if self.model is not None and self.delivering and math.isfinite(self._daily.ml):
            worst = straddle(
                self,
                self.model,
                self.program.patient_bolus if self.program else None,
                new_offset,
                self._daily.ml,
                sum(r.rate * (r.end - self.now) for r in self.ramps),
            )
            if worst is not None:
                finding = daily_finding(self, worst, self._daily, "after this clock change")
                self.write_log(EventKind.CLOCK_SET, "clock change refused")
                return CommandResult(
                    "set_clock",
                    True,
                    False,
                    finding.message,
                    (finding,),
                    refusal=DeviceRefusal.EXCEEDS_LIMITS,
                )
        old = self.now + self.offset
        self.offset = new_offset
        self.write_log(
            EventKind.CLOCK_SET,
            f"clock set from {at_hours(old):%Y-%m-%d %H:%M} to "
            f"{at_hours(device_hours):%Y-%m-%d %H:%M}",
        )
        new_segment(self)
        return CommandResult("set_clock", True, True)

    # -- faults the firmware detects ------------------------------------------------------

    def low_battery_reset(self) -> None:
        """A weak battery reset the firmware: the flow goes to a very low level (the pump's
        minimum rate from the catalog) or stops if that is unknown or not allowed."""
        self.write_log(EventKind.RESET, "low-battery reset")
        self.alarms.raise_(AlarmCondition.LOW_BATTERY_RESET)
        if self.program is None:
            return
        minimum = self.spec.min_rate
        if minimum is None:
            self.set_hold(Hold.MEMORY, True)
            return
        reset = Program(
            Schedule(continuous(minimum)),
            self.program.admixture,
            self.program.low_reservoir_threshold,
        )
        if self.check_program(reset):
            self.set_hold(Hold.MEMORY, True)
            return
        firmware_programs.install(self, reset)

    def memory_error(self) -> None:
        self.write_log(EventKind.MEMORY_ERROR, "memory check failed: delivery stopped")
        self.alarms.raise_(AlarmCondition.MEMORY_ERROR)
        self.set_hold(Hold.MEMORY, True)

    # -- status -----------------------------------------------------------------------------

    def status(self, model_name: str) -> DeviceStatus:
        est = self.estimate_at(self.strokes)
        return DeviceStatus(
            serial=self.serial,
            model=model_name,
            device_time=at_hours(self.now + self.offset),
            holds=sorted_holds(self.holds),
            bolus=bolus_state(
                any(r.kind == "clinician" for r in self.ramps),
                any(r.kind == "patient" for r in self.ramps),
            ),
            program=self.program,
            reservoir_estimate=Q_(max(est, 0.0), ML),
            low_reservoir_threshold=self.program.low_reservoir_threshold if self.program else None,
            delivered_total=Q_(self.strokes * self.stroke, ML),
            alarms=self.alarms.states(),
            eri_at=at_hours(self.eri_device_h) if self.eri_device_h is not None else None,
            eos_at=at_hours(self.eos_device_h) if self.eos_device_h is not None else None,
            patient_boluses_last_24h=self.patient_boluses_last_24h(),
            last_seq=len(self.log),
        )


def require_positive_volume(value: pint.Quantity, field: str) -> float:
    check_dimension(value, field, Dimension.VOLUME)
    ml = float(value.to(ML).magnitude)
    if ml <= 0:
        raise InputError(field, "must be greater than zero", "e.g. '0.0025 mL'")
    return ml
