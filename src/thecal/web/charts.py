"""Patient-page charts, server-rendered as SVG with matplotlib (Agg; no JavaScript).

* Reservoir projection: the expected reservoir volume from the last fill (mL, exact from the
  current prescription's schedule via :func:`thecal.therapy.reservoir.expected_volume`), the
  low-reservoir alarm threshold and the refill-by date of :func:`thecal.therapy.refill_dates.
  forecast`.
* Refill history: expected vs withdrawn volume (mL) per refill, refills with findings marked
  (drawn in :mod:`thecal.interop.report_chart`, shared with the PDF therapy summary).

The numbers are computed first (:class:`ReservoirProjection`), then drawn, so tests can check
what is plotted against the therapy core.
"""

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before any figure: files only, never a window

import matplotlib.dates as mdates
import numpy as np
import pint
from matplotlib.figure import Figure

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.clinic.program_history import ProgramsSinceFill
from thecal.interop.report_chart import refill_history_svg  # the PDF summary draws it too
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan
from thecal.therapy.refill_dates import RefillForecast, forecast
from thecal.therapy.reservoir import Fill, expected_volume
from thecal.units import Q_, InputError, fmt

_HARD = "#d62728"
_SOFT = "#ff9f1c"


@dataclass(frozen=True)
class ReservoirProjection:
    """Expected reservoir volume at ``times`` (``volumes``: a mL quantity array, one value per
    time), the alarm ``threshold`` (mL) and the forecast that gives the refill-by date."""

    fill: Fill
    times: tuple[datetime, ...]
    volumes: pint.Quantity
    threshold: pint.Quantity
    forecast: RefillForecast


def reservoir_projection(
    resolved: ResolvedPlan,
    fill: Fill,
    library: DrugLibrary,
    end: datetime | None = None,
    points: int = 200,
    since: ProgramsSinceFill | None = None,
) -> ReservoirProjection:
    """The reservoir from ``fill`` to ``end`` under the prescription ``resolved`` — or, with
    ``since``, under the prescriptions that ran since the fill, the last one running on.

    ``end`` defaults to the later of the refill-by date and the nominal low-reservoir alarm
    (the chart shows the whole way to the refill). Each plotted volume is the therapy core's
    exact expected volume at that time; ``end`` itself is always the last point. Raises
    :class:`InputError` when no end can be found (nothing delivered and no drug limit)."""
    schedule = since.schedule if since else resolved.schedule
    changes = since.changes if since else ()
    fc = forecast(
        fill, schedule, resolved.pump, resolved.alarm_threshold, resolved.program.patient_bolus,
        since.admixture if since else resolved.admixture, library, changes=changes,
    )  # fmt: skip
    if end is None:
        known = [t for t in (fc.refill_by, fc.low_alarm_nominal) if t is not None]
        if not known:
            raise InputError("chart.end", "no refill date can be forecast", "an end time")
        end = max(known)
    if end <= fill.at:
        raise InputError("chart.end", f"{end:%Y-%m-%d %H:%M} is not after the fill")
    span = (end - fill.at) / max(points - 1, 1)
    times = (*(fill.at + span * i for i in range(max(points - 1, 1))), end)
    volumes = [
        float(expected_volume(fill, schedule, t, changes=changes).volume.to("mL").magnitude)
        for t in times
    ]
    return ReservoirProjection(fill, times, Q_(np.array(volumes), "mL"), fc.alarm_threshold, fc)


def _svg(fig: Figure) -> str:
    fig.text(0.01, 0.01, NOT_A_MEDICAL_DEVICE, fontsize=5, color="#777777")
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def _date_axis(ax: object) -> None:
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)  # type: ignore[attr-defined]
    ax.xaxis.set_major_formatter(  # type: ignore[attr-defined]
        mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    )


_TODAY = "#333333"


def _today_line(ax: Any, now: datetime) -> None:
    """A vertical "today" line at ``now`` (the clinic's clock), labelled in the legend."""
    x = float(mdates.date2num(now))  # type: ignore[no-untyped-call]
    ax.axvline(x, color=_TODAY, lw=1.2, ls="-", label=f"today {now:%Y-%m-%d}")


def reservoir_svg(p: ReservoirProjection, now: datetime | None = None) -> str:
    """The projection as an SVG document (volumes in mL); ``now``: draw the "today" line (the
    x axis is widened to include it when the fill or the refill date is further away)."""
    fig = Figure(figsize=(8, 3.4))
    ax = fig.add_subplot()
    times = np.array(p.times, dtype="datetime64[ms]")
    ax.plot(times, p.volumes.to("mL").magnitude, color="#1f77b4", lw=1.6,
            label=f"expected volume (fill {fmt(p.fill.volume)})")  # fmt: skip
    ax.axhline(float(p.threshold.to("mL").magnitude), color=_SOFT, lw=1.2, ls="--",
               label=f"low-reservoir alarm {fmt(p.threshold)}")  # fmt: skip
    if p.forecast.refill_by is not None:
        refill_x = float(mdates.date2num(p.forecast.refill_by))  # type: ignore[no-untyped-call]
        ax.axvline(refill_x, color=_HARD, lw=1.2, ls=":",
                   label=f"refill by {p.forecast.refill_by:%Y-%m-%d} "
                   f"({p.forecast.decided_by})")  # fmt: skip
    if now is not None:
        _today_line(ax, now)
    ax.set_ylabel("reservoir (mL)")
    ax.set_ylim(0, max(float(p.fill.volume.to("mL").magnitude), 1e-6) * 1.15)
    # The legend above the plot: it never covers the line.
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), fontsize=7, ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    _date_axis(ax)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return _svg(fig)


__all__ = ["ReservoirProjection", "refill_history_svg", "reservoir_projection", "reservoir_svg"]
