"""The alarm engine: numbered conditions with priorities, repeats, acknowledgement, tones.

Rules (FDA/UPenn Generic PCA pump reference model, Arney et al., UPenn MS-CIS-08-31, 2009;
SynchroMed II behaviour, Medtronic patient information and safety advisories):

* every active alarm is kept and reported, highest priority first; none is dropped;
* an unacknowledged alarm repeats at its class interval (non-critical: the catalog's sourced
  "about hourly"; critical: not public, so a required input);
* acknowledging silences the repeats; an alarm *clears* only when it is acknowledged AND its
  condition is resolved (either order);
* a condition that returns while its alarm is still latched re-arms it (no duplicate alarm).
"""

from collections.abc import Callable
from dataclasses import dataclass

import pint

from thecal.devices.alarms import ALARMS, AlarmCondition, AlarmState, Tone
from thecal.devices.log import EventKind
from thecal.implant.clock import EventQueue, Order, TimedEvent
from thecal.therapy.delivery import at_hours
from thecal.therapy.pump import PumpSpec
from thecal.units import Dimension, InputError, check_dimension

LogFn = Callable[..., None]


@dataclass(frozen=True)
class AlarmConfig:
    """Repeat intervals. ``critical_repeat`` is required (not public for any catalogued pump);
    ``noncritical_repeat`` falls back on the catalog (SynchroMed: about hourly)."""

    critical_repeat: pint.Quantity
    noncritical_repeat: pint.Quantity | None = None


@dataclass
class _Alarm:
    condition: AlarmCondition
    raised_at: float
    acknowledged: bool = False
    resolved: bool = False
    repeats: int = 0
    pending: TimedEvent | None = None


def tones_from_spec(spec: PumpSpec) -> dict[bool, Tone | None]:
    """Critical (True) and non-critical (False) tones from the catalog, ``None`` if not public."""
    out: dict[bool, Tone | None] = {True: None, False: None}
    if spec.critical_tone_count and spec.critical_tone_duration is not None:
        out[True] = Tone(
            spec.critical_tone_count,
            spec.critical_tone_duration,
            spec.source("critical_tone_duration"),
        )
    if spec.noncritical_tone_count and spec.noncritical_tone_duration is not None:
        out[False] = Tone(
            spec.noncritical_tone_count,
            spec.noncritical_tone_duration,
            spec.source("noncritical_tone_duration"),
        )
    return out


def _repeat_hours(value: pint.Quantity, field: str) -> float:
    check_dimension(value, field, Dimension.TIME)
    h = float(value.to("h").magnitude)
    if h <= 0:
        raise InputError(field, "must be greater than zero", "e.g. '1 h'")
    return h


class AlarmEngine:
    """Alarm state of one device. ``log(kind, message, alarm=…)`` writes the device log;
    repeats are scheduled on the device's event queue."""

    def __init__(self, spec: PumpSpec, config: AlarmConfig, queue: EventQueue, log: LogFn) -> None:
        self.critical_repeat_h = _repeat_hours(config.critical_repeat, "alarms.critical_repeat")
        self.noncritical_repeat_h = _repeat_hours(
            spec.require(
                "noncritical_alarm_repeat", config.noncritical_repeat, "alarms.noncritical_repeat"
            ),
            "alarms.noncritical_repeat",
        )
        self.tones = tones_from_spec(spec)
        self._queue = queue
        self._log = log
        self._active: dict[AlarmCondition, _Alarm] = {}
        self.now = 0.0

    # -- queries ----------------------------------------------------------------------------

    def present(self, condition: AlarmCondition) -> bool:
        """The alarm is active and its condition has not been resolved."""
        a = self._active.get(condition)
        return a is not None and not a.resolved

    def active(self, condition: AlarmCondition) -> bool:
        return condition in self._active

    def any_active(self) -> bool:
        return bool(self._active)

    def states(self) -> tuple[AlarmState, ...]:
        """Active alarms, highest priority first, then oldest first."""
        ordered = sorted(
            self._active.values(),
            key=lambda a: (-ALARMS[a.condition].priority, a.raised_at, a.condition),
        )
        return tuple(
            AlarmState(
                a.condition,
                ALARMS[a.condition].priority,
                ALARMS[a.condition].critical,
                at_hours(a.raised_at),
                a.acknowledged,
                a.resolved,
                a.repeats,
                self.tones[ALARMS[a.condition].critical],
            )
            for a in ordered
        )

    # -- transitions ----------------------------------------------------------------------

    def raise_(self, condition: AlarmCondition, message: str = "") -> bool:
        """Raise (or re-arm) ``condition``. Returns True if the device state changed."""
        a = self._active.get(condition)
        if a is not None and not a.resolved:
            return False
        if a is None:
            a = _Alarm(condition, self.now)
            self._active[condition] = a
        else:  # latched (resolved, not yet acknowledged): the condition came back
            a.resolved = False
        self._log(EventKind.ALARM_RAISED, message or ALARMS[condition].description, alarm=condition)
        self._schedule_repeat(a)
        return True

    def resolve(self, condition: AlarmCondition) -> bool:
        a = self._active.get(condition)
        if a is None or a.resolved:
            return False
        a.resolved = True
        self._log(EventKind.ALARM_RESOLVED, "condition resolved", alarm=condition)
        if a.acknowledged:
            self._clear(a)
        return True

    def acknowledge(self, condition: AlarmCondition | None = None) -> bool:
        """Acknowledge one alarm, or all with ``None``. True if anything changed."""
        targets = [
            a
            for c, a in list(self._active.items())
            if (condition is None or c == condition) and not a.acknowledged
        ]
        for a in targets:
            a.acknowledged = True
            if a.pending is not None:
                a.pending.cancelled = True
                a.pending = None
            self._log(EventKind.ALARM_ACKNOWLEDGED, "acknowledged", alarm=a.condition)
            if a.resolved:
                self._clear(a)
        return bool(targets)

    def _clear(self, a: _Alarm) -> None:
        del self._active[a.condition]
        if a.pending is not None:
            a.pending.cancelled = True
        self._log(EventKind.ALARM_CLEARED, "acknowledged and resolved", alarm=a.condition)

    def _schedule_repeat(self, a: _Alarm) -> None:
        if a.acknowledged or a.pending is not None:
            return
        interval = (
            self.critical_repeat_h if ALARMS[a.condition].critical else self.noncritical_repeat_h
        )

        def repeat() -> None:
            a.pending = None
            if self._active.get(a.condition) is not a or a.acknowledged:
                return
            a.repeats += 1
            self._log(EventKind.ALARM_REPEATED, f"repeat {a.repeats}", alarm=a.condition)
            self._schedule_repeat(a)

        a.pending = self._queue.push(
            self.now + interval, repeat, Order.ALARM, f"repeat {a.condition.name}"
        )
