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
from thecal.therapy.plan import ResolvedPlan, resolve
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
    then: tuple[datetime, ResolvedPlan] | None = None,
) -> ProgramsSinceFill:
    """The prescriptions in force between ``last_fill`` and ``at``. A version takes effect when
    it was written (``created_at``: the workflow programs the pump then). The one in force at
    the fill is the last written at or before it — or the first version, when the fill is
    older than every prescription. ``then``: a program not stored yet, starting at its time
    after every version (a program change being previewed). At least one version or ``then``.
    Raises :class:`~thecal.units.InputError` if an old plan no longer resolves (naming its
    field)."""
    runs: list[tuple[int, datetime, PrescriptionVersion | ResolvedPlan]] = [
        (v.version, v.created_at, v) for v in sorted(versions, key=lambda v: v.version)
    ]
    if then is not None:
        runs.append(((runs[-1][0] if runs else 0) + 1, then[0], then[1]))
    if not runs:
        raise ValueError("programs_since_fill needs a prescription version or a program")
    base = runs[0]
    for run in runs:
        if run[1] <= last_fill:
            base = run
    later = [r for r in runs if r[0] > base[0] and last_fill < r[1] <= at]

    def resolved(item: PrescriptionVersion | ResolvedPlan) -> ResolvedPlan:
        return (
            item
            if isinstance(item, ResolvedPlan)
            else resolve(item.plan().to_typed(), library, catalog)
        )

    at_fill = resolved(base[2])
    starts = [last_fill, *(r[1] for r in later)]
    ends = [*starts[1:], at]
    periods = tuple(
        ProgramPeriod(r[0], s, e) for r, s, e in zip([base, *later], starts, ends, strict=True)
    )
    return ProgramsSinceFill(
        at_fill.schedule,
        at_fill.admixture,
        tuple(ScheduleChange(r[1], resolved(r[2]).schedule) for r in later),
        periods,
    )
