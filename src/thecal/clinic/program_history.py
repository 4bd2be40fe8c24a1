"""Which prescription ran when between two refills: a physician may titrate (reprogram the pump)
between fills, and the reservoir empties at each period's own rate. Without this the expected
residual at the next refill — and so the discrepancy — would be computed as if the current
program had run since the last fill."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from thecal.clinic.model import PrescriptionVersion
from thecal.therapy.admixture import Admixture
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import resolve
from thecal.therapy.reservoir import ScheduleChange
from thecal.therapy.schedule import Schedule


@dataclass(frozen=True)
class ProgramPeriod:
    """Prescription ``version`` ran from ``start`` to ``end`` (naive clinic time)."""

    version: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ProgramsSinceFill:
    """The schedule running at the last fill and its ``admixture`` (what is in the reservoir),
    the reprogrammings after it (for :func:`~thecal.therapy.reservoir.expected_volume`) and
    the periods, for display."""

    schedule: Schedule
    admixture: Admixture
    changes: tuple[ScheduleChange, ...]
    periods: tuple[ProgramPeriod, ...]


def programs_since_fill(
    versions: Sequence[PrescriptionVersion],
    last_fill: datetime,
    at: datetime,
    library: DrugLibrary,
    catalog: Any,
) -> ProgramsSinceFill:
    """The prescriptions in force between ``last_fill`` and ``at``. A version takes effect when
    it was written (``created_at``: the workflow programs the pump then). The one in force at
    the fill is the last written at or before it — or the first version, when the fill is
    older than every prescription. ``versions`` in version order, at least one. Raises
    :class:`~thecal.units.InputError` if an old plan no longer resolves (naming its field)."""
    if not versions:
        raise ValueError("programs_since_fill needs at least one prescription version")
    ordered = sorted(versions, key=lambda v: v.version)
    base = ordered[0]
    for v in ordered:
        if v.created_at <= last_fill:
            base = v
    later = [v for v in ordered if v.version > base.version and last_fill < v.created_at <= at]

    def schedule(v: PrescriptionVersion) -> Schedule:
        return resolve(v.plan(), library, catalog).schedule

    at_fill = resolve(base.plan(), library, catalog)

    starts = [last_fill, *(v.created_at for v in later)]
    ends = [*starts[1:], at]
    periods = tuple(
        ProgramPeriod(v.version, s, e) for v, s, e in zip([base, *later], starts, ends, strict=True)
    )
    return ProgramsSinceFill(
        at_fill.schedule,
        at_fill.admixture,
        tuple(ScheduleChange(v.created_at, schedule(v)) for v in later),
        periods,
    )
