"""Commanded delivery: the timeline of the firmware's commanded volume and its whole strokes.

Time model (no ticking). The firmware's *commanded* cumulative volume ``C(x)`` is continuous and
piecewise defined by **segments**: a segment starts at every state change (program write, bolus
start or end, pause, resume, clock set) and, inside it,

    C(x) = base + [M(x + offset) - M(a + offset)] + ramp_rate * (x - a)

with ``M`` the therapy core's exact :class:`DeliveryModel` cumulative (basal, periodic, single
boluses) and ``ramp_rate`` the sum of running boluses (each ``volume / duration``). Strokes done
by time ``x`` are ``floor(C(x) / stroke)``: the fractional carry survives every change. Threshold
crossings (low reservoir, empty, ERI) are found by a grid search on these closed forms (see
:mod:`thecal.implant.firmware_reservoir`).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from thecal.devices.log import EventKind
from thecal.devices.states import Hold
from thecal.implant.clock import TimedEvent, first_grid_time
from thecal.therapy.delivery import DAY_H, DeliveryModel
from thecal.units import ureg

# Parsed once: pint re-parses a prefixed unit string such as "mL" on every call (~60 µs), which
# made unit conversions a large share of a simulated pump-year.
ML = ureg.Unit("mL")

STROKE_EPS = 1e-7  # strokes: tolerance against float noise in C(x) / stroke
LIMIT_EPS = 1e-9  # mL: tolerance in limit comparisons

if TYPE_CHECKING:
    from thecal.implant.firmware import Firmware


@dataclass
class Segment:
    a: float
    b: float
    base: float
    model: DeliveryModel | None
    m0: float
    offset: float
    rate: float
    # ``model``'s cumulative function (see :func:`cumulative_of`); None without a model.
    cum: Callable[[float], float] | None = field(default=None, repr=False)

    def cmd(self, x: float) -> float:
        v = self.base + self.rate * (x - self.a)
        if self.cum is not None:
            v += self.cum(x + self.offset) - self.m0
        return v


def cumulative_of(model: DeliveryModel) -> Callable[[float], float]:
    """``model.cumulative``, or its basal part when the schedule has no periodic or single
    boluses: the bolus term is then exactly 0.0, so the floats are the same, one call cheaper
    (the commanded volume is the simulator's hottest computation)."""
    sched = model.schedule
    return model.cumulative if sched.periodic or sched.single else model.basal_cumulative


@dataclass
class Ramp:
    kind: str  # "patient" | "clinician" (the log's wording)
    start: float
    end: float
    volume: float
    event: TimedEvent | None = field(default=None, repr=False)

    @property
    def rate(self) -> float:
        return self.volume / (self.end - self.start)


def new_segment(fw: "Firmware") -> None:
    """Close the current segment at ``now`` and open one reflecting the current state."""
    now = fw.now
    base = fw._seg.cmd(now)
    fw._seg.b = now
    fw._history.append(fw._seg)
    while fw._history and fw._history[0].b < now - DAY_H - 1.0:
        fw._history.popleft()
    model = fw.model if not fw.holds else None
    cum: Callable[[float], float] | None = None
    m0 = 0.0
    if model is not None:
        cached = fw._cum_of
        if cached is None or cached[0] is not model:
            cached = fw._cum_of = (model, cumulative_of(model))
        cum = cached[1]
        m0 = cum(now + fw.offset)
    rate = sum(r.volume / (r.end - r.start) for r in fw.ramps) if fw.ramps else 0
    fw._seg = Segment(now, math.inf, base, model, m0, fw.offset, rate, cum)


def set_hold(fw: "Firmware", hold: Hold, on: bool) -> bool:
    """Add or remove a hold; pausing cancels running boluses (no catch-up later)."""
    if on == (hold in fw.holds):
        return False
    was = fw.delivering
    if on:
        fw.holds.add(hold)
    else:
        fw.holds.discard(hold)
    if was and not fw.delivering:
        cancel_ramps(fw, "interrupted: " + hold)
        fw.write_log(EventKind.DELIVERY_PAUSED, hold)
    elif not was and fw.delivering:
        fw.write_log(EventKind.DELIVERY_RESUMED, hold + " cleared")
    new_segment(fw)
    return True


def cancel_ramps(fw: "Firmware", why: str) -> None:
    for r in fw.ramps:
        if r.event is not None:
            r.event.cancelled = True
        given = r.rate * (fw.now - r.start)
        fw.write_log(
            EventKind.BOLUS_END,
            f"{r.kind} bolus {why}",
            (("volume", given, "mL"), ("planned", r.volume, "mL")),
        )
    fw.ramps = []


def run_until(fw: "Firmware", until: float) -> None:
    """Jump from event to event up to ``until`` (true hours)."""
    queue = fw.queue
    while True:
        nxt = queue.peek_time()
        if nxt <= fw.now:  # due events first (their actions may schedule more)
            queue.pop().action()
            continue
        if fw.now >= until:
            return
        hi = nxt if nxt < until else until
        n_hi = fw.strokes_at(hi)
        preds = fw._crossed(hi, n_hi)
        detected: float | None = None
        if preds:
            found = [first_grid_time(p, fw.now, hi) for p in preds]
            times = [t for t in found if t is not None]
            if times:
                detected = min(times)
            elif nxt <= until:
                detected = hi  # crossed between the last grid point and a state change
        if detected is None:
            integrate(fw, hi, n_hi)
        else:
            integrate(fw, detected, n_hi if detected == hi else fw.strokes_at(detected))
            fw.evaluate()


def integrate(fw: "Firmware", t: float, n: int) -> None:
    """Move to ``t``; ``n`` = strokes done by then (``strokes_at(t)``)."""
    if n > fw.strokes:
        fw.motor(n - fw.strokes)
        fw.strokes = n
    fw.now = t
    fw.alarms.now = t
