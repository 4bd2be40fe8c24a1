"""Firmware: the logic that would run on the implant.

It holds the active program, refuses programs and boluses outside its own hard limits, delivers
in whole strokes, keeps its own ESTIMATE of the reservoir, runs the alarm engine, enforces the
patient-bolus lockout and daily maximum, and writes the append-only event log. It never sees the
plant's truth: it commands strokes through ``motor`` and learns only what its sensors report.

Time model (no ticking). The firmware's *commanded* cumulative volume ``C(x)`` is continuous and
piecewise defined by **segments**: a segment starts at every state change (program write, bolus
start or end, pause, resume, clock set) and, inside it,

    C(x) = base + [M(x + offset) - M(a + offset)] + ramp_rate * (x - a)

with ``M`` the therapy core's exact :class:`DeliveryModel` cumulative (basal, periodic, single
boluses) and ``ramp_rate`` the sum of running boluses (each ``volume / duration``). Strokes done
by time ``x`` are ``floor(C(x) / stroke)``: the fractional carry survives every change. Threshold
crossings (low reservoir, empty, ERI) are found by a grid search on these closed forms.
"""

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pint

from thecal.devices.protocol import (
    AlarmCondition,
    Capabilities,
    CommandResult,
    DeviceStatus,
    EventKind,
    LogEvent,
    Program,
)
from thecal.implant.alarms import AlarmConfig, AlarmEngine
from thecal.implant.battery import BatteryCalibration
from thecal.implant.clock import EventQueue, Order, TimedEvent, first_grid_time
from thecal.implant.limits import (
    FirmwareLimits,
    VolumeLimit,
    schedule_breakpoints,
    volume_limit,
    window_max,
)
from thecal.therapy.delivery import DAY_H, DeliveryModel, at_hours
from thecal.therapy.device_limits import capability_findings
from thecal.therapy.drugs import Bound
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.pump import PumpSpec
from thecal.therapy.schedule import PatientBolus, Schedule, continuous
from thecal.units import Q_, Dimension, InputError, check_dimension, fmt, ureg

# Parsed once: pint re-parses a prefixed unit string such as "mL" on every call (~60 µs), which
# made unit conversions a large share of a simulated pump-year.
_ML = ureg.Unit("mL")

_STROKE_EPS = 1e-7  # strokes: tolerance against float noise in C(x) / stroke
_LIMIT_EPS = 1e-9  # mL: tolerance in limit comparisons


class Hold:
    """Reasons the firmware is not delivering. Several can hold at once."""

    STOPPED = "stopped by clinician"
    MRI = "MRI: rotor stopped"
    POST_MRI = "waiting for post-MRI interrogation"
    MOTOR_STALL = "motor stall"
    EOS = "end of service"
    MEMORY = "memory error"
    OCCLUSION = "occlusion"
    AIR = "air in line"
    EMPTY = "reservoir empty"
    NO_PROGRAM = "no program"


@dataclass
class _Segment:
    a: float
    b: float
    base: float
    model: DeliveryModel | None
    m0: float
    offset: float
    rate: float
    # ``model``'s cumulative function (see :func:`_cumulative_of`); None without a model.
    cum: Callable[[float], float] | None = field(default=None, repr=False)

    def cmd(self, x: float) -> float:
        v = self.base + self.rate * (x - self.a)
        if self.cum is not None:
            v += self.cum(x + self.offset) - self.m0
        return v


def _cumulative_of(model: DeliveryModel) -> Callable[[float], float]:
    """``model.cumulative``, or its basal part when the schedule has no periodic or single
    boluses: the bolus term is then exactly 0.0, so the floats are the same, one call cheaper
    (the commanded volume is the simulator's hottest computation)."""
    sched = model.schedule
    return model.cumulative if sched.periodic or sched.single else model.basal_cumulative


@dataclass
class _Ramp:
    kind: str  # "patient" | "clinician"
    start: float
    end: float
    volume: float
    event: TimedEvent | None = field(default=None, repr=False)

    @property
    def rate(self) -> float:
        return self.volume / (self.end - self.start)


class Firmware:
    """One device's firmware. Times are float hours since the therapy core's EPOCH ("true"
    simulation time); the device clock is ``true + offset``. Driven by its device object."""

    def __init__(
        self,
        serial: str,
        spec: PumpSpec,
        capabilities: Capabilities,
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
        self.stroke = float(capabilities.stroke_volume.to(_ML).magnitude)
        self.capacity = float(capabilities.reservoir.to(_ML).magnitude)
        self.stops_when_empty = stops_when_empty
        self.log: list[LogEvent] = []
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
        self.holds: set[str] = {Hold.NO_PROGRAM}
        self.ramps: list[_Ramp] = []
        self._seg = _Segment(start_h, math.inf, 0.0, None, 0.0, 0.0, 0.0)
        self._last_model: DeliveryModel | None = None
        self._cum_of: tuple[DeliveryModel, Callable[[float], float]] | None = None
        self._history: deque[_Segment] = deque()
        self.strokes = 0
        self.fill_estimate = 0.0
        self.fill_strokes = 0
        self.ptb_starts: deque[float] = deque()
        self.battery = battery
        self.sessions = 0
        self.eri_h: float | None = None
        self.eos_h: float | None = None
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
            LogEvent(
                self.serial,
                len(self.log) + 1,
                kind,
                self.now,
                self.now + self.offset,
                message,
                values,
                alarm,
            )
        )

    def events(self, since_seq: int = 0) -> tuple[LogEvent, ...]:
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
        seg = self._seg  # _Segment.cmd inlined: the hottest call of a long run
        v = seg.base + seg.rate * (x - seg.a)
        if seg.cum is not None:
            v += seg.cum(x + seg.offset) - seg.m0
        n = math.floor(v / self.stroke + _STROKE_EPS)
        return n if n > self.strokes else self.strokes

    def _new_segment(self) -> None:
        """Close the current segment at ``now`` and open one reflecting the current state."""
        now = self.now
        base = self._seg.cmd(now)
        self._seg.b = now
        self._history.append(self._seg)
        while self._history and self._history[0].b < now - DAY_H - 1.0:
            self._history.popleft()
        model = self.model if not self.holds else None
        cum: Callable[[float], float] | None = None
        m0 = 0.0
        if model is not None:
            cached = self._cum_of
            if cached is None or cached[0] is not model:
                cached = self._cum_of = (model, _cumulative_of(model))
            cum = cached[1]
            m0 = cum(now + self.offset)
        rate = sum(r.volume / (r.end - r.start) for r in self.ramps) if self.ramps else 0
        self._seg = _Segment(now, math.inf, base, model, m0, self.offset, rate, cum)

    def set_hold(self, hold: str, on: bool) -> bool:
        """Add or remove a hold; pausing cancels running boluses (no catch-up later)."""
        if on == (hold in self.holds):
            return False
        was = self.delivering
        if on:
            self.holds.add(hold)
        else:
            self.holds.discard(hold)
        if was and not self.delivering:
            self._cancel_ramps("interrupted: " + hold)
            self.write_log(EventKind.DELIVERY_PAUSED, hold)
        elif not was and self.delivering:
            self.write_log(EventKind.DELIVERY_RESUMED, hold + " cleared")
        self._new_segment()
        return True

    def _cancel_ramps(self, why: str) -> None:
        for r in self.ramps:
            if r.event is not None:
                r.event.cancelled = True
            given = r.rate * (self.now - r.start)
            self.write_log(
                EventKind.BOLUS_END,
                f"{r.kind} bolus {why}",
                (("volume", given, "mL"), ("planned", r.volume, "mL")),
            )
        self.ramps = []

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
        """The armed threshold predicates (monotone in time) that are already true at ``hi``,
        where ``n_hi`` = strokes done by ``hi`` (computed once for all of them)."""
        preds: list[Callable[[float], bool]] = []
        if self.program is not None:
            est = self.estimate_at(n_hi)
            thr = self._thr
            if est <= thr + _LIMIT_EPS and not self.alarms.present(AlarmCondition.LOW_RESERVOIR):
                preds.append(lambda x: self.estimate_at(self.strokes_at(x)) <= thr + _LIMIT_EPS)
            limit = self.stroke * (1.0 - 1e-9)
            if est < limit and not self.alarms.present(AlarmCondition.EMPTY_RESERVOIR):
                preds.append(lambda x: self.estimate_at(self.strokes_at(x)) < limit)
        if self.battery is not None and self.eri_h is None and self.battery_used(hi, n_hi) >= 1.0:
            preds.append(lambda x: self.battery_used(x, self.strokes_at(x)) >= 1.0)
        return preds

    def run_until(self, until: float) -> None:
        """Jump from event to event up to ``until`` (true hours)."""
        queue = self.queue
        while True:
            nxt = queue.peek_time()
            if nxt <= self.now:  # due events first (their actions may schedule more)
                queue.pop().action()
                continue
            if self.now >= until:
                return
            hi = nxt if nxt < until else until
            n_hi = self.strokes_at(hi)
            preds = self._crossed(hi, n_hi)
            detected: float | None = None
            if preds:
                found = [first_grid_time(p, self.now, hi) for p in preds]
                times = [t for t in found if t is not None]
                if times:
                    detected = min(times)
                elif nxt <= until:
                    detected = hi  # crossed between the last grid point and a state change
            if detected is None:
                self._integrate(hi, n_hi)
            else:
                self._integrate(detected, n_hi if detected == hi else self.strokes_at(detected))
                self.evaluate()

    def _integrate(self, t: float, n: int) -> None:
        """Move to ``t``; ``n`` = strokes done by then (``strokes_at(t)``)."""
        if n > self.strokes:
            self.motor(n - self.strokes)
            self.strokes = n
        self.now = t
        self.alarms.now = t

    def evaluate(self) -> None:
        """Raise or resolve the state-based conditions at ``now``."""
        if self.program is not None:
            est = self.estimate_at(self.strokes)
            thr = self._thr
            if est <= thr + _LIMIT_EPS:
                self.alarms.raise_(
                    AlarmCondition.LOW_RESERVOIR,
                    f"Low reservoir: estimate {max(est, 0.0):.3f} mL at or below {thr:.3f} mL.",
                )
            else:
                self.alarms.resolve(AlarmCondition.LOW_RESERVOIR)
            empty = est < self.stroke * (1.0 - 1e-9)
            if empty:
                self.alarms.raise_(AlarmCondition.EMPTY_RESERVOIR)
            else:
                self.alarms.resolve(AlarmCondition.EMPTY_RESERVOIR)
            if self.stops_when_empty:
                self.set_hold(Hold.EMPTY, empty)
        if (
            self.battery is not None
            and self.eri_h is None
            and self.battery_used(self.now, self.strokes) >= 1.0
        ):
            self._eri()

    def _eri(self) -> None:
        assert self.battery is not None
        self.eri_h = self.now
        self.eos_h = self.now + self.battery.eri_to_eos_hours
        self.write_log(
            EventKind.ERI,
            f"Elective replacement indicator: the pump stops in "
            f"{fmt(self.battery.eri_to_eos.to('d'))}.",
        )
        self.alarms.raise_(AlarmCondition.ELECTIVE_REPLACEMENT)
        self.queue.push(self.eos_h, self._eos, Order.DEVICE, "end of service")

    def _eos(self) -> None:
        self.write_log(EventKind.EOS, "End of service: pump stopped.")
        self.alarms.raise_(AlarmCondition.END_OF_SERVICE)
        self.set_hold(Hold.EOS, True)

    # -- program ----------------------------------------------------------------------------

    def check_program(self, program: Program) -> list[Finding]:
        """Every reason the firmware refuses ``program`` (empty = acceptable)."""
        out: list[Finding] = []
        spec = self.spec
        thr = program.low_reservoir_threshold
        check_dimension(thr, "program.low_reservoir_threshold", Dimension.VOLUME)
        if thr.magnitude <= 0 or thr.to(_ML).magnitude >= self.capacity:
            out.append(
                Finding(
                    Level.HARD,
                    Code.FIRMWARE_ALARM_THRESHOLD,
                    f"The low-reservoir alarm threshold {fmt(thr)} is refused: it must be above "
                    f"0 mL (the alarm can never be switched off) and below the reservoir "
                    f"({fmt(self.caps.reservoir)}).",
                    "FDA/UPenn Generic PCA pump reference model (Arney et al., Generic "
                    "Infusion Pump Hazard Analysis and Safety Requirements, UPenn MS-CIS-08-31, "
                    "2009): critical alarms can be configured but never switched off",
                    limit=self.caps.reservoir,
                    value=thr,
                )
            )
        missing = program.modes() - self.caps.modes
        if missing:
            out.append(
                Finding(
                    Level.HARD,
                    Code.FIRMWARE_MODE_UNSUPPORTED,
                    f"{spec.model} does not support: {', '.join(sorted(missing))}.",
                    "device capabilities",
                )
            )
        # The firmware refuses on its own hard limits only (the core's info findings are advice).
        out += [
            f for f in capability_findings(program.schedule.basal, spec) if f.level is Level.HARD
        ]
        for ing in program.admixture.ingredients:
            if self.limits.get(ing.drug.name) is None:
                out.append(
                    Finding(
                        Level.HARD,
                        Code.FIRMWARE_DRUG_UNKNOWN,
                        f"{ing.drug.name} is not in the drug library loaded into this pump.",
                        "firmware drug library (provisioning)",
                        ing.drug.name,
                    )
                )
        pb = program.patient_bolus
        if pb is not None and (
            pb.volume.magnitude <= 0
            or pb.duration.magnitude <= 0
            or pb.lockout < pb.duration
            or pb.max_per_day < 1
        ):
            out.append(
                Finding(
                    Level.HARD,
                    Code.FIRMWARE_PATIENT_BOLUS_INVALID,
                    "The patient bolus needs a volume and duration above zero, a lockout at "
                    "least as long as the bolus, and at least one bolus a day.",
                    "firmware rule",
                )
            )
            return out
        bolus_lim = volume_limit(program.admixture, self.limits, Bound.BOLUS_DOSE_MAX)
        volumes = [float(b.volume.to(_ML).magnitude) for b in program.schedule.periodic]
        volumes += [float(b.volume.to(_ML).magnitude) for b in program.schedule.single]
        if pb is not None:
            volumes.append(float(pb.volume.to(_ML).magnitude))
        for v in volumes:
            if v > bolus_lim.ml + _LIMIT_EPS:
                out.append(self._bolus_finding(v, bolus_lim))
                break
        daily = volume_limit(program.admixture, self.limits, Bound.DAILY_DOSE_MAX)
        if math.isfinite(daily.ml):
            model = self._model_for(program.schedule)
            static = window_max(model, pb, self.now + self.offset)
            if static > daily.ml - self.stroke + _LIMIT_EPS:
                out.append(self._daily_finding(static, daily, "in its worst 24 h"))
            else:
                worst = self._straddle(model, pb, self.offset, daily.ml)
                if worst is not None:
                    out.append(self._daily_finding(worst, daily, "in the 24 h around this change"))
        return out

    def _straddle(
        self,
        model: DeliveryModel,
        pb: PatientBolus | None,
        offset: float,
        limit_ml: float,
        running_ml: float = 0.0,
    ) -> float | None:
        """Worst volume of a 24 h window that starts in the past and ends under the new program
        (running from ``now`` with device offset ``offset``, plus ``running_ml`` still to come
        from running boluses); ``None`` if within the limit."""
        t = self.now
        lo = t - DAY_H
        cands: set[float] = {lo}
        for seg in [*self._history, self._seg]:
            a, b = seg.a, min(seg.b, t)
            if b <= lo:
                continue
            if a > lo:
                cands.add(a)
            if seg.model is not None:
                for x in schedule_breakpoints(
                    seg.model.schedule, max(a, lo) + seg.offset, b + seg.offset
                ):
                    cands.add(x - seg.offset)
        for x in schedule_breakpoints(model.schedule, t + offset, t + DAY_H + offset):
            cands.add(x - offset - DAY_H)
        starts = [p for p in self.ptb_starts if lo < p < t]
        cands.update(starts)
        now_cmd = self.cmd(t)
        m_t = model.cumulative(t + offset)
        vol = n_max = 0.0
        if pb is not None:
            vol = float(pb.volume.to(_ML).magnitude)
            n_max = float(pb.max_count_per_day)
        worst = 0.0
        for s in cands:
            if not lo <= s < t:
                continue
            past = now_cmd - self.cmd_past(s)
            future = model.cumulative(s + DAY_H + offset) - m_t + running_ml
            if vol:
                taken = sum(1 for p in starts if p > s)
                future += vol * max(0.0, n_max - taken)
            worst = max(worst, past + future)
        return worst if worst > limit_ml - self.stroke + _LIMIT_EPS else None

    def _daily_finding(self, volume: float, daily: VolumeLimit, where: str) -> Finding:
        assert daily.limit is not None
        return Finding(
            Level.HARD,
            Code.FIRMWARE_ROLLING_24H_ABOVE_LIMIT,
            f"Refused by the pump: up to {volume:.4g} mL could be delivered {where}, above the "
            f"{daily.ml - self.stroke:.4g} mL that holds the hard daily limit of "
            f"{fmt(daily.limit)} {daily.drug} (one stroke kept as margin).",
            daily.source,
            daily.drug,
            daily.limit,
            Q_(volume, _ML),
        )

    def _bolus_finding(self, volume: float, lim: VolumeLimit) -> Finding:
        assert lim.limit is not None
        return Finding(
            Level.HARD,
            Code.BOLUS_DOSE_ABOVE_LIMIT,
            f"Refused by the pump: a {volume:.4g} mL bolus holds more {lim.drug} than the hard "
            f"bolus limit of {fmt(lim.limit)} ({lim.ml:.4g} mL).",
            lim.source,
            lim.drug,
            lim.limit,
            Q_(volume, _ML),
        )

    def write_program(self, program: Program) -> CommandResult:
        findings = self.check_program(program)
        if findings:
            self.write_log(EventKind.PROGRAM_REFUSED, "; ".join(f.code.value for f in findings))
            return CommandResult(
                "write_program", True, False, "refused by the pump's hard limits", tuple(findings)
            )
        if program == self.program and Hold.MEMORY not in self.holds:
            return CommandResult("write_program", True, False, "program unchanged")
        self._install(program)
        self.write_log(
            EventKind.PROGRAM_WRITTEN,
            "program written",
            (("low_reservoir_threshold", float(program.low_reservoir_threshold.to(_ML).m), "mL"),),
        )
        self.alarms.resolve(AlarmCondition.LOW_BATTERY_RESET)
        self.alarms.resolve(AlarmCondition.MEMORY_ERROR)
        self.set_hold(Hold.MEMORY, False)
        self.evaluate()
        return CommandResult("write_program", True, True)

    def _model_for(self, schedule: Schedule) -> DeliveryModel:
        """The compiled model of ``schedule``; the one built while checking a program is reused
        when that program is installed (compiling converts every step's rate: pint-heavy)."""
        last = self._last_model
        if last is None or last.schedule is not schedule:
            last = self._last_model = DeliveryModel(schedule)
        return last

    def _install(self, program: Program) -> None:
        self._cancel_ramps("cancelled by a new program")
        self.program = program
        self.model = self._model_for(program.schedule)
        self._thr = float(program.low_reservoir_threshold.to(_ML).magnitude)
        pb = program.patient_bolus
        self._ptb = (
            (
                float(pb.volume.to(_ML).magnitude),
                float(pb.duration.to("h").magnitude),
                float(pb.lockout.to("h").magnitude),
                pb.max_per_day,
            )
            if pb is not None
            else None
        )
        self._daily = volume_limit(program.admixture, self.limits, Bound.DAILY_DOSE_MAX)
        self._window = window_max(self.model, program.patient_bolus, self.now + self.offset)
        self.holds.discard(Hold.NO_PROGRAM)
        self._new_segment()

    # -- boluses ----------------------------------------------------------------------------

    def _start_ramp(self, kind: str, volume: float, duration: float) -> None:
        ramp = _Ramp(kind, self.now, self.now + duration, volume)
        self.ramps.append(ramp)

        def end() -> None:
            self.ramps.remove(ramp)
            self.write_log(
                EventKind.BOLUS_END, f"{kind} bolus complete", (("volume", volume, "mL"),)
            )
            self._new_segment()

        ramp.event = self.queue.push(ramp.end, end, Order.DEVICE, f"{kind} bolus end")
        self._new_segment()

    def clinician_bolus(self, volume: pint.Quantity, duration: pint.Quantity) -> CommandResult:
        check_dimension(volume, "bolus.volume", Dimension.VOLUME)
        check_dimension(duration, "bolus.duration", Dimension.TIME)
        v = float(volume.to(_ML).magnitude)
        d = float(duration.to("h").magnitude)
        reason = ""
        findings: list[Finding] = []
        if self.program is None or not self.delivering:
            reason = "the pump is not delivering: " + ", ".join(sorted(self.holds))
        elif v <= 0 or d <= 0:
            reason = "bolus volume and duration must be greater than zero"
        elif v > self.capacity:
            reason = "bolus larger than the reservoir"
        else:
            blim = volume_limit(self.program.admixture, self.limits, Bound.BOLUS_DOSE_MAX)
            if v > blim.ml + _LIMIT_EPS:
                findings.append(self._bolus_finding(v, blim))
            daily = self._daily
            if math.isfinite(daily.ml):
                t = self.now
                past = self.cmd(t) - self.cmd_past(t - DAY_H)
                running = sum(r.rate * (r.end - t) for r in self.ramps)
                total = past + running + v + self._window
                if total > daily.ml - self.stroke + _LIMIT_EPS:
                    findings.append(
                        self._daily_finding(total, daily, "in a 24 h window with this bolus")
                    )
            if findings:
                reason = "refused by the pump's hard limits"
        if reason:
            self.write_log(
                EventKind.BOLUS_REFUSED,
                f"clinician bolus refused: {reason}",
                (("volume", v, "mL"),),
            )
            return CommandResult("clinician_bolus", True, False, reason, tuple(findings))
        self.write_log(
            EventKind.BOLUS_START,
            "clinician bolus",
            (("volume", v, "mL"), ("duration", d, "h")),
        )
        self._start_ramp("clinician", v, d)
        return CommandResult("clinician_bolus", True, True)

    def patient_bolus_request(self) -> CommandResult:
        """Grant or deny a patient-activated bolus; the firmware enforces lockout (start to
        start) and the maximum number in any rolling 24 h itself."""
        t = self.now
        while self.ptb_starts and self.ptb_starts[0] <= t - DAY_H:
            self.ptb_starts.popleft()
        pb = self._ptb if self.program is not None else None
        reason = ""
        if pb is None:
            reason = "no patient bolus programmed"
        elif not self.delivering:
            reason = "pump not delivering: " + ", ".join(sorted(self.holds))
        elif self.ptb_starts and t - self.ptb_starts[-1] < pb[2] - 1e-12:
            reason = "lockout"
        elif len(self.ptb_starts) >= pb[3]:
            reason = "daily maximum reached"
        if reason or pb is None:
            self.write_log(EventKind.PTB_DENIED, reason)
            return CommandResult("patient_bolus_request", True, False, reason)
        v = pb[0]
        self.ptb_starts.append(t)
        self.write_log(EventKind.PTB_GRANTED, "patient bolus", (("volume", v, "mL"),))
        self._start_ramp("patient", v, pb[1])
        return CommandResult("patient_bolus_request", True, True)

    def patient_boluses_last_24h(self) -> int:
        return sum(1 for p in self.ptb_starts if p > self.now - DAY_H)

    # -- refill, clock, stop ----------------------------------------------------------------

    def refill(self, volume: pint.Quantity) -> CommandResult:
        """Record the reservoir volume after a fill (the firmware's estimate restarts here)."""
        check_dimension(volume, "refill.volume", Dimension.VOLUME)
        v = float(volume.to(_ML).magnitude)
        if not 0 < v <= self.capacity + 1e-9:
            code = Code.FILL_EMPTY if v <= 0 else Code.FILL_EXCEEDS_RESERVOIR
            finding = Finding(
                Level.HARD,
                code,
                f"Refused: {fmt(volume)} is not a volume this reservoir can hold "
                f"(0 < volume ≤ {fmt(self.caps.reservoir)}).",
                self.spec.source("reservoir") or "device capabilities",
                limit=self.caps.reservoir,
                value=volume,
            )
            self.write_log(EventKind.REFILL_REFUSED, finding.message)
            return CommandResult("refill", True, False, "volume out of range", (finding,))
        before = self.estimate_at(self.strokes)
        self.fill_estimate = v
        self.fill_strokes = self.strokes
        self.write_log(
            EventKind.REFILL,
            "reservoir volume recorded",
            (("volume", v, "mL"), ("expected_before", max(before, 0.0), "mL")),
        )
        self.evaluate()
        return CommandResult(
            "refill", True, True, values=(("expected_before", Q_(max(before, 0.0), _ML)),)
        )

    def set_clock(self, device_hours: float) -> CommandResult:
        new_offset = device_hours - self.now
        if self.model is not None and self.delivering and math.isfinite(self._daily.ml):
            worst = self._straddle(
                self.model,
                self.program.patient_bolus if self.program else None,
                new_offset,
                self._daily.ml,
                sum(r.rate * (r.end - self.now) for r in self.ramps),
            )
            if worst is not None:
                finding = self._daily_finding(worst, self._daily, "after this clock change")
                self.write_log(EventKind.CLOCK_SET, "clock change refused")
                return CommandResult("set_clock", True, False, finding.message, (finding,))
        old = self.now + self.offset
        self.offset = new_offset
        self.write_log(
            EventKind.CLOCK_SET,
            f"clock set from {at_hours(old):%Y-%m-%d %H:%M} to "
            f"{at_hours(device_hours):%Y-%m-%d %H:%M}",
        )
        self._new_segment()
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
        self._install(reset)

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
            sim_time=at_hours(self.now),
            delivering=self.delivering,
            holds=tuple(sorted(self.holds)),
            program=self.program,
            reservoir_estimate=Q_(max(est, 0.0), _ML),
            low_reservoir_threshold=self.program.low_reservoir_threshold if self.program else None,
            delivered_total=Q_(self.strokes * self.stroke, _ML),
            alarms=self.alarms.states(),
            eri_at=at_hours(self.eri_h) if self.eri_h is not None else None,
            eos_at=at_hours(self.eos_h) if self.eos_h is not None else None,
            patient_boluses_last_24h=self.patient_boluses_last_24h(),
            last_seq=len(self.log),
        )


def require_positive_volume(value: pint.Quantity, field: str) -> float:
    check_dimension(value, field, Dimension.VOLUME)
    ml = float(value.to(_ML).magnitude)
    if ml <= 0:
        raise InputError(field, "must be greater than zero", "e.g. '0.0025 mL'")
    return ml
