"""The reservoir: what was filled, whether it fits, and how much should be left at a given time.

A fill volume is checked against the reservoir it goes into (the TMLT closed claim: a 20 mL fill
programmed as 40 mL, so the pump ran empty months before the expected date). The expected
volume comes from the same exact integral as every dose (:class:`DeliveryModel`), so the refill
date, the expected residual and the delivered dose can never disagree.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pint

from thecal.therapy.compare import above
from thecal.therapy.delivery import DeliveryModel, ReportedBolus
from thecal.therapy.pump import PumpSpec
from thecal.therapy.schedule import PatientBolus, Schedule
from thecal.units import Q_, Dimension, InputError, check_dimension, fmt


@dataclass(frozen=True)
class Fill:
    """A reservoir fill: ``volume`` (mL) injected at ``at`` (naive device time).

    ``first_fill`` is True for the first fill of a newly implanted pump (some drugs, e.g.
    ziconotide, adsorb to new pump surfaces and have a shorter first-fill interval)."""

    volume: pint.Quantity
    at: datetime
    first_fill: bool = False


@dataclass(frozen=True)
class ExpectedVolume:
    """What the reservoir should hold at a time, by the programmed schedule.

    ``volume``: expected residual (mL, never below 0). ``delivered``: volume that left the
    reservoir since the fill (mL, at most the fill: an empty pump delivers nothing).
    ``programmed``: what the schedule and the reported boluses asked for (mL, not clamped;
    above the fill volume when the pump ran empty). ``ran_empty_at``: when the reservoir
    reached 0, or None if it has not."""

    volume: pint.Quantity
    delivered: pint.Quantity
    programmed: pint.Quantity
    ran_empty_at: datetime | None


def reservoir_capacity(
    pump: PumpSpec, reservoir_override: pint.Quantity | None = None
) -> pint.Quantity:
    """The reservoir volume (mL): ``reservoir_override`` (an external pump's bag or cassette, or
    a value from the labelling) wins over the catalog. :class:`InputError` on field
    ``pump.reservoir`` when neither is known."""
    if reservoir_override is not None:
        check_dimension(reservoir_override, "pump.reservoir", Dimension.VOLUME)
        if reservoir_override.magnitude <= 0:
            raise InputError(
                "pump.reservoir", "must be greater than zero", "a volume such as '100 mL'"
            )
    capacity = pump.require("reservoir", reservoir_override, "pump.reservoir")
    return capacity.to("mL")


def check_fill(
    volume: pint.Quantity, pump: PumpSpec, reservoir_override: pint.Quantity | None = None
) -> None:
    """Refuse a fill volume (mL) that is not positive or does not fit the reservoir.

    Raises :class:`InputError` on field ``fill.volume``. A volume above the capacity is almost
    always a programming error (a 20 mL fill entered as 40 mL), which would put the expected
    refill date far too late. When the reservoir volume is unknown (external pumps: the bag)
    the error asks for it on field ``pump.reservoir``."""
    check_dimension(volume, "fill.volume", Dimension.VOLUME)
    if volume.magnitude <= 0:
        raise InputError("fill.volume", f"{fmt(volume)} is not a fill", "a volume > 0 mL")
    capacity = reservoir_capacity(pump, reservoir_override)
    # compare.above allows the capacity itself: a full 20 mL fill is never refused.
    if above(volume, capacity):
        raise InputError(
            "fill.volume",
            f"{fmt(volume.to('mL'))} does not fit the {fmt(capacity)} reservoir of {pump.model}; "
            "check the volume actually injected and the volume entered into the programmer",
            f"at most {fmt(capacity)}",
        )


def _check_reported(reported: Sequence[ReportedBolus]) -> None:
    for i, bolus in enumerate(reported):
        check_dimension(bolus.volume, f"reported[{i}].volume", Dimension.VOLUME)
        if bolus.volume.magnitude < 0:
            raise InputError(f"reported[{i}].volume", "must not be negative", "a volume >= 0 mL")


@dataclass(frozen=True)
class ScheduleChange:
    """The pump was reprogrammed at ``at`` (naive device time): ``schedule`` runs from then until
    the next change. A titration between two refills is one."""

    at: datetime
    schedule: Schedule


def schedule_in_force(
    schedule: Schedule, changes: Sequence[ScheduleChange], at: datetime
) -> Schedule:
    """The schedule running at ``at``: the last change at or before it, else ``schedule``."""
    running = schedule
    for change in changes:
        if change.at <= at:
            running = change.schedule
    return running


def _check_order(changes: Sequence[ScheduleChange]) -> None:
    for i in range(1, len(changes)):
        if changes[i].at <= changes[i - 1].at:
            raise InputError(
                f"changes[{i}].at", "program changes must be in time order",
                f"a time after {changes[i - 1].at:%Y-%m-%d %H:%M}",
            )  # fmt: skip


def expected_volume(
    fill: Fill,
    schedule: Schedule,
    at: datetime,
    reported: Sequence[ReportedBolus] = (),
    changes: Sequence[ScheduleChange] = (),
) -> ExpectedVolume:
    """Expected reservoir contents at ``at`` (mL), exactly, from the programmed ``schedule``
    plus the patient boluses the device ``reported`` (each counted whole from its start time;
    boluses before the fill or at/after ``at`` are ignored, as in
    :meth:`DeliveryModel.time_to_deliver`).

    ``changes``: reprogrammings since the fill, in time order; each piece of the interval is
    integrated with the schedule that ran then (a change at or before the fill replaces
    ``schedule`` from the start). Mass balance holds by construction:
    ``volume + delivered == fill.volume``."""
    check_dimension(fill.volume, "fill.volume", Dimension.VOLUME)
    if fill.volume.magnitude <= 0:
        raise InputError("fill.volume", f"{fmt(fill.volume)} is not a fill", "a volume > 0 mL")
    if at < fill.at:
        raise InputError("at", f"{at:%Y-%m-%d %H:%M} is before the fill", "a time after the fill")
    _check_reported(reported)
    pieces = Timeline(fill, schedule, changes).until(at)
    fill_ml = float(fill.volume.to("mL").magnitude)
    boluses_ml = sum(float(r.volume.to("mL").magnitude) for r in reported if fill.at <= r.at < at)
    programmed_ml = sum(float(m.volume(a, b).magnitude) for a, b, m in pieces) + boluses_ml
    ran_empty_at: datetime | None = None
    if programmed_ml >= fill_ml:
        empty = _walk(pieces, fill_ml, None, reported)
        ran_empty_at = at if empty is None else min(empty, at)
    delivered_ml = min(programmed_ml, fill_ml)
    return ExpectedVolume(
        volume=Q_(fill_ml - delivered_ml, "mL"),
        delivered=Q_(delivered_ml, "mL"),
        programmed=Q_(programmed_ml, "mL"),
        ran_empty_at=ran_empty_at,
    )


def _walk(
    pieces: Sequence[tuple[datetime, datetime | None, DeliveryModel]],
    volume_ml: float,
    patient: PatientBolus | None,
    reported: Sequence[ReportedBolus],
) -> datetime | None:
    """Earliest time ``volume_ml`` has left the reservoir, the pieces in time order (the last
    one may be open-ended: end None). In each piece :meth:`DeliveryModel.time_to_deliver` with
    the patient's worst case counted from the piece's start (per 24 h), so a reprogramming
    can only bring the worst case earlier, never later. None: not within the model's horizon."""
    left = volume_ml
    daily = float(patient.volume.to("mL").magnitude) * patient.max_count_per_day if patient else 0.0
    for a, b, model in pieces:
        here = [r for r in reported if a <= r.at and (b is None or r.at < b)]
        t = model.time_to_deliver(a, left, patient, here)
        # The inverse is bisected to 0.1 s and never returns early; clamp it into the piece.
        if b is None or (t is not None and t < b):
            return None if t is None else max(t, a)
        days = math.ceil((b - a).total_seconds() / 86400.0 - 1e-12)
        left -= (
            float(model.volume(a, b).magnitude)
            + daily * days
            + sum(float(r.volume.to("mL").magnitude) for r in here)
        )
    return None


class Timeline:
    """The programs that run from ``fill``: ``schedule``, then each of ``changes`` (in time
    order) from its time on, the last one open-ended. Compiled once, queried many times."""

    def __init__(
        self, fill: Fill, schedule: Schedule, changes: Sequence[ScheduleChange] = ()
    ) -> None:
        _check_order(changes)
        self.fill = fill
        running = schedule_in_force(schedule, changes, fill.at)
        pieces: list[tuple[datetime, datetime | None, DeliveryModel]] = []
        start = fill.at
        for change in changes:
            if change.at > fill.at:
                pieces.append((start, change.at, DeliveryModel(running)))
                start, running = change.at, change.schedule
        pieces.append((start, None, DeliveryModel(running)))
        self._pieces = pieces

    def until(self, at: datetime) -> list[tuple[datetime, datetime, DeliveryModel]]:
        """The pieces from the fill to ``at`` (not before the fill), each cut at ``at``."""
        first, *rest = self._pieces
        kept = [first, *(p for p in rest if p[0] < at)]
        return [(a, at if b is None or b > at else b, m) for a, b, m in kept]

    def time_to_deliver(
        self,
        volume: pint.Quantity,
        patient: PatientBolus | None = None,
        reported: Sequence[ReportedBolus] = (),
    ) -> datetime | None:
        """Earliest time ``volume`` (mL) has left the reservoir since the fill. With
        ``patient`` the worst case: every allowed patient bolus taken (see
        :meth:`DeliveryModel.time_to_deliver`). None: not within the model's horizon."""
        check_dimension(volume, "volume", Dimension.VOLUME)
        return _walk(self._pieces, float(volume.to("mL").magnitude), patient, reported)
