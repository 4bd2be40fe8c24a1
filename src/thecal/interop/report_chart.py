"""The refill history chart, server-rendered as SVG with matplotlib (Agg; no JavaScript): the
patient page shows it and the patient therapy summary PDF prints it (one drawing, below the web
and API layers so every face draws the same chart)."""

import io
import textwrap
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # before any figure: files only, never a window

import numpy as np
from matplotlib.figure import Figure

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.clinic.model import RefillRecord
from thecal.therapy.findings import Level

_HARD = "#d62728"
_SOFT = "#ff9f1c"
_INFO = "#1f77b4"
_LEVEL_COLOUR = {Level.HARD: _HARD, Level.SOFT: _SOFT, Level.INFO: _INFO}
_LEVEL_RANK = {Level.HARD: 0, Level.SOFT: 1, Level.INFO: 2}


def _svg(fig: Figure) -> str:
    fig.text(0.01, 0.01, NOT_A_MEDICAL_DEVICE, fontsize=5, color="#777777")
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def _worst(levels: Sequence[Level]) -> Level:
    return min(levels, key=lambda lv: _LEVEL_RANK[lv])


def refill_history_svg(refills: Sequence[RefillRecord]) -> str:
    """Expected vs withdrawn (mL) per refill, oldest first. A refill with findings is marked in
    its most severe level's colour (red: hard, amber: soft, blue: info) with a letter; the key
    under the chart lists each letter's level and finding codes (one line per distinct set,
    so labels never overlap however many refills there are)."""
    keys: dict[tuple[Level, tuple[str, ...]], str] = {}
    marks: list[tuple[int, Level, str]] = []
    for i, r in enumerate(refills):
        if not r.findings:
            continue
        level = _worst([f.level for f in r.findings])
        codes = tuple(dict.fromkeys(f.code for f in r.findings))
        key = keys.setdefault((level, codes), chr(ord("a") + len(keys) % 26))
        marks.append((i, level, key))
    lines = [f"{k} ({lv.value}): {', '.join(c)}" for (lv, c), k in keys.items()]
    wrapped = [w for line in lines for w in textwrap.wrap(line, 140, subsequent_indent="    ")]
    key_h = 0.16 * len(wrapped)  # inches of key text under the axes
    fig = Figure(figsize=(8, 3.4 + key_h))
    ax = fig.add_subplot()
    x = np.arange(len(refills))
    expected = [float(r.expected_remaining.to("mL").magnitude) for r in refills]
    withdrawn = [float(r.withdrawn.to("mL").magnitude) for r in refills]
    ax.bar(x - 0.2, expected, 0.4, color="#9ecae1", label="expected (mL)")
    ax.bar(x + 0.2, withdrawn, 0.4, color="#3182bd", label="withdrawn (mL)")
    top = max([*expected, *withdrawn, 1e-6])
    shown: set[Level] = set()
    for i, level, key in marks:
        colour = _LEVEL_COLOUR[level]
        label = None if level in shown else f"{level.value} finding (letter: key below)"
        shown.add(level)
        ax.plot([i], [top * 1.08], marker="v", color=colour, ls="", label=label)
        ax.annotate(key, (i, top * 1.14), fontsize=7, ha="center", color=colour)
    step = max(1, len(refills) // 12)  # at most ~12 date labels: they never overlap
    ax.set_xticks(x[::step], [f"{r.performed_at:%Y-%m-%d}" for r in refills][::step],
                  fontsize=7, rotation=30)  # fmt: skip
    ax.set_ylabel("volume (mL)")
    ax.set_ylim(0, top * 1.25)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.01), fontsize=7, ncol=5, frameon=False)
    ax.grid(alpha=0.3, axis="y")
    total_h = 3.4 + key_h
    for n, text in enumerate(wrapped):
        fig.text(0.01, (0.05 + key_h - 0.16 * n) / total_h, text, fontsize=6.5)
    fig.tight_layout(rect=(0, (0.12 + key_h) / total_h, 1, 1))
    return _svg(fig)


__all__ = ["refill_history_svg"]
