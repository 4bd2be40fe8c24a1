"""Stimulator charts, server-rendered as SVG with matplotlib (Agg; no JavaScript): each
contact's impedance readings (points) and their rolling mean (line), from
:func:`thecal.clinic.impedance_trend.contact_trends` — the chart draws what the clinic computed,
so the trend findings and the picture agree."""

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from matplotlib.figure import Figure

from thecal.clinic.impedance_trend import ContactTrend
from thecal.web.charts import _date_axis, _svg, _today_line


def impedance_svg(
    trends: Sequence[ContactTrend], window_text: str, now: datetime | None = None
) -> str:
    """Impedance (ohm) per contact over time: readings as dots, the ``window_text`` rolling
    mean as a line; a contact with a finding is labelled with its codes; ``now``: the "today"
    line."""
    fig = Figure(figsize=(8, 3.4))
    ax = fig.add_subplot()
    for i, t in enumerate(trends):
        colour = f"C{i % 10}"
        times = np.array([p.at for p in t.points], dtype="datetime64[ms]")
        ohms = [float(p.impedance.to("ohm").magnitude) for p in t.points]
        means = [float(p.mean.to("ohm").magnitude) for p in t.points]
        codes = ", ".join(dict.fromkeys(f.code.value for f in t.findings))
        label = f"{t.contact}" + (f" ({codes})" if codes else "")
        ax.plot(times, ohms, ".", color=colour, alpha=0.45, ms=4)
        ax.plot(times, means, "-", color=colour, lw=1.4, label=label)
    if now is not None and trends:
        _today_line(ax, now)
    ax.set_ylabel("impedance (ohm)")
    ax.set_title(f"dots: readings; lines: {window_text} rolling mean", fontsize=8)
    if trends:  # above the plot: the legend never covers a reading
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.08), fontsize=7, ncol=3, frameon=False)
    else:
        ax.text(0.5, 0.5, "no impedance recorded", ha="center", transform=ax.transAxes)
    ax.grid(alpha=0.3)
    _date_axis(ax)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return _svg(fig)


__all__ = ["impedance_svg"]
