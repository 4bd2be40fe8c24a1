"""Plot a scenario run to a PNG (matplotlib, Agg backend: no display needed).

Top: reservoir volume, true (the plant) and estimated (the firmware), with alarm periods as
bands (critical red, non-critical amber) and the clinical actions and faults as markers.
Bottom: cumulative volume that left the pump vs what reached the CSF, and what the firmware
commanded; the drug doses are in the legend.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, never a window

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.implant.scenario import ScenarioResult
from thecal.units import InputError, fmt

_CRITICAL = "#d62728"
_NONCRITICAL = "#ff9f1c"
_MARKED = ("refill", "fault", "empty reservoir", "program", "interrogated", "stop", "resume")


def plot_scenario(result: ScenarioResult, path: Path, dpi: int = 120) -> Path:
    """Draw ``result`` into the PNG file ``path`` and return it. Volumes in mL."""
    if path.suffix.lower() != ".png":
        raise InputError("plot", f"{path} is not a .png file", "a file name ending in .png")
    s = result.series
    times = np.array(s.times, dtype="datetime64[ms]")
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    title = result.title or f"{result.model} {result.serial}"
    fig.suptitle(title, fontsize=11)

    top.plot(times, s.reservoir_true.to("mL").magnitude, color="#1f77b4", lw=1.6, label="true")
    top.plot(
        times,
        s.reservoir_estimate.to("mL").magnitude,
        color="#555555",
        lw=1.2,
        ls="--",
        label="pump's estimate",
    )
    top.set_ylabel("reservoir (mL)")
    # Headroom above the full reservoir for the legend and the alarm names.
    full = max(float(np.max(s.reservoir_true.to("mL").magnitude, initial=0.0)), 1e-6)
    top.set_ylim(0, full * 1.4)
    end = np.datetime64(result.end, "ms")
    labelled: set[bool] = set()
    for i, p in enumerate(result.alarm_periods):
        stop = np.datetime64(p.end, "ms") if p.end is not None else end
        label = None
        if p.critical not in labelled:
            label = "critical alarm" if p.critical else "non-critical alarm"
            labelled.add(p.critical)
        top.axvspan(
            np.datetime64(p.start, "ms"),
            stop,
            color=_CRITICAL if p.critical else _NONCRITICAL,
            alpha=0.18,
            lw=0,
            label=label,
        )
        top.annotate(
            p.condition.name.replace("_", " ").lower(),
            xy=(np.datetime64(p.start, "ms"), 0.76),
            xycoords=("data", "axes fraction"),
            xytext=(2, -9 * (i % 4)),
            textcoords="offset points",
            fontsize=7,
            color=_CRITICAL if p.critical else "#a65e00",
        )
    marks = [e for e in result.log if e.source == "scenario" and e.kind in _MARKED]
    for e in marks:
        colour = _CRITICAL if e.kind == "fault" else "#2ca02c"
        top.axvline(np.datetime64(e.time, "ms"), color=colour, lw=0.8, ls=":", alpha=0.8)
    if marks:
        top.plot([], [], color="#2ca02c", ls=":", label="clinical action")
        if any(e.kind == "fault" for e in marks):
            top.plot([], [], color=_CRITICAL, ls=":", label="fault")
    top.legend(loc="upper left", fontsize=8, ncol=4)
    top.grid(alpha=0.3)

    left = dict(result.doses_left_pump)
    csf = dict(result.doses_to_csf)
    left_text = ", ".join(f"{fmt(v)} {k}" for k, v in left.items())
    csf_text = ", ".join(f"{fmt(v)} {k}" for k, v in csf.items())
    bottom.plot(
        times,
        s.left_pump.to("mL").magnitude,
        color="#9467bd",
        lw=1.6,
        label="left the pump" + (f" ({left_text})" if left_text else ""),
    )
    bottom.plot(
        times,
        s.to_csf.to("mL").magnitude,
        color="#2ca02c",
        lw=1.6,
        ls="-.",
        label="reached the CSF" + (f" ({csf_text})" if csf_text else ""),
    )
    bottom.plot(
        times,
        s.commanded.to("mL").magnitude,
        color="#555555",
        lw=1.0,
        ls="--",
        label="commanded by the pump",
    )
    bottom.set_ylabel("cumulative volume (mL)")
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper left", fontsize=8)
    bottom.grid(alpha=0.3)
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    )
    fig.text(0.01, 0.005, "Simulation. " + NOT_A_MEDICAL_DEVICE, fontsize=6, color="#777777")
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


__all__ = ["plot_scenario"]
