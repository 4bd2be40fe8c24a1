"""Simulated time: a heap of timed events with a deterministic tie-break, and the detection grid.

Times are float hours since :data:`thecal.therapy.delivery.EPOCH` ("true" simulation time). The
simulator jumps from event to event; nothing ticks per minute or per stroke.
"""

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

GRID_PER_HOUR = 4096
"""Threshold crossings (low reservoir, empty, ERI) are reported at the first point of a fixed
grid of 1/4096 h (< 0.9 s) at or after the stroke that crossed them. A fixed grid makes the
reported time independent of how the caller steps the clock (one big advance or many small
ones), which a bisection bracketed by the caller's steps would not be."""


class Order(IntEnum):
    """Tie-break for events at the same instant: lower runs first, then insertion order."""

    DEVICE = 0  # bolus ends, MRI transitions, end of service
    ACTION = 1  # scheduled clinical actions and fault injections (scenarios)
    ALARM = 2  # alarm repeats


@dataclass(order=True)
class TimedEvent:
    at: float
    order: int
    seq: int
    action: Callable[[], None] = field(compare=False)
    label: str = field(compare=False, default="")
    cancelled: bool = field(compare=False, default=False)


class EventQueue:
    """Min-heap of :class:`TimedEvent`; cancelled events are skipped lazily.

    The heap holds ``(at, order, seq, event)`` tuples: tuple comparison runs in C, where the
    dataclass's generated ``__lt__`` was the simulator's hottest function. ``seq`` is unique, so
    the event itself is never compared and the order is the same ``(time, order, insertion)``."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, TimedEvent]] = []
        self._seq = 0

    def push(
        self, at: float, action: Callable[[], None], order: Order = Order.DEVICE, label: str = ""
    ) -> TimedEvent:
        self._seq += 1
        event = TimedEvent(at, int(order), self._seq, action, label)
        heapq.heappush(self._heap, (at, event.order, event.seq, event))
        return event

    def peek_time(self) -> float:
        """Time of the next live event, ``inf`` if none."""
        heap = self._heap
        while heap and heap[0][3].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else math.inf

    def pop(self) -> TimedEvent:
        self.peek_time()
        return heapq.heappop(self._heap)[3]

    def __len__(self) -> int:
        return sum(1 for e in self._heap if not e[3].cancelled)


def first_grid_time(predicate: Callable[[float], bool], after: float, upto: float) -> float | None:
    """The smallest grid point ``g`` with ``after < g <= upto`` and ``predicate(g)`` true, for a
    predicate that is monotone (false then true) on that interval; ``None`` if there is none."""
    lo = math.floor(after * GRID_PER_HOUR) + 1
    hi = math.floor(upto * GRID_PER_HOUR)
    if lo > hi or not predicate(hi / GRID_PER_HOUR):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if predicate(mid / GRID_PER_HOUR):
            hi = mid
        else:
            lo = mid + 1
    return lo / GRID_PER_HOUR
