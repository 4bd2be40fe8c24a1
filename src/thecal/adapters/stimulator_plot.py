"""Plot a stimulator scenario run to a PNG (matplotlib, Agg backend: no display needed).

Top: the impedance of every contact, as the plant has it (lines, weekly) and as the IPG
measured it (monopolar readings: dots). Bottom: the cell's reading (V), with ERI and end of
service marked.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, never a window

import matplotlib.pyplot as plt
import numpy as np

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.implant.stimulator_scenario import StimulatorResult
from thecal.units import InputError


def plot_stimulator(result: StimulatorResult, path: Path, dpi: int = 120) -> Path:
    if path.suffix.lower() != ".png":
        raise InputError("plot", f"{path} is not a .png file", "a file name ending in .png")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    fig.suptitle(result.title or f"{result.model} {result.serial}", fontsize=11)
    times = np.array([s.time for s in result.samples], dtype="datetime64[ms]")
    labels = [k for k, _ in result.samples[0].impedances] if result.samples else []
    for i, label in enumerate(labels):
        ohm = [float(s.impedances[i][1].to("ohm").magnitude) for s in result.samples]
        top.plot(times, ohm, lw=1.0, label=f"{label} (true)")
    for report in result.impedance:
        mono = [r for r in report.readings if r.kind == "monopolar"]
        top.scatter(
            [np.datetime64(report.at, "ms")] * len(mono),
            [float(r.impedance.to("ohm").magnitude) for r in mono],
            s=8, color="black", zorder=3,
        )  # fmt: skip
    top.set_ylabel("impedance (Ohm); dots: monopolar readings")
    top.set_yscale("log")
    top.legend(fontsize=7, ncol=3, loc="upper left")
    bottom.plot(times, [float(s.voltage.to("V").magnitude) for s in result.samples], lw=1.4)
    bottom.set_ylabel("cell reading (V; straight-line curve)")
    for at, name in ((result.status.eri_at, "ERI"), (result.status.eos_at, "EOS")):
        if at is not None:
            bottom.axvline(np.datetime64(at, "ms"), color="#d62728", ls="--", lw=1)
            bottom.annotate(name, (np.datetime64(at, "ms"), bottom.get_ylim()[1]), fontsize=8)
    fig.text(0.01, 0.005, NOT_A_MEDICAL_DEVICE, fontsize=6, color="#777777")
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
