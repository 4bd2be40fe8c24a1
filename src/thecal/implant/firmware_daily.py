"""The rolling 24 h hard daily limit: the worst window across a change, and refusal findings.

Shared by program writes, clinician boluses and clock changes: each refuses when some 24 h
window could hold more than the drug library's hard daily limit (one stroke kept as margin).
"""

from typing import TYPE_CHECKING

from thecal.implant.firmware_delivery import LIMIT_EPS, ML
from thecal.implant.limits import VolumeLimit, schedule_breakpoints
from thecal.therapy.delivery import DAY_H, DeliveryModel
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.schedule import PatientBolus
from thecal.units import Q_, fmt

if TYPE_CHECKING:
    from thecal.implant.firmware import Firmware


def straddle(
    fw: "Firmware",
    model: DeliveryModel,
    pb: PatientBolus | None,
    offset: float,
    limit_ml: float,
    running_ml: float = 0.0,
) -> float | None:
    """Worst volume of a 24 h window that starts in the past and ends under the new program
    (running from ``now`` with device offset ``offset``, plus ``running_ml`` still to come
    from running boluses); ``None`` if within the limit."""
    t = fw.now
    lo = t - DAY_H
    cands: set[float] = {lo}
    for seg in [*fw._history, fw._seg]:
        a, b = seg.a, min(seg.b, t)
        if b <= lo:
            continue
        if a > lo:
            cands.add(a)
        if seg.model is not None:
            for x in schedule_breakpoints(
                seg.model.schedule, max(a, lo) + seg.offset, b + seg.offset
            ):
                cands.add(x - seg.offset)
    for x in schedule_breakpoints(model.schedule, t + offset, t + DAY_H + offset):
        cands.add(x - offset - DAY_H)
    starts = [p for p in fw.ptb_starts if lo < p < t]
    cands.update(starts)
    now_cmd = fw.cmd(t)
    m_t = model.cumulative(t + offset)
    vol = n_max = 0.0
    if pb is not None:
        vol = float(pb.volume.to(ML).magnitude)
        n_max = float(pb.max_count_per_day)
    worst = 0.0
    for s in cands:
        if not lo <= s < t:
            continue
        past = now_cmd - fw.cmd_past(s)
        future = model.cumulative(s + DAY_H + offset) - m_t + running_ml
        if vol:
            taken = sum(1 for p in starts if p > s)
            future += vol * max(0.0, n_max - taken)
        worst = max(worst, past + future)
    return worst if worst > limit_ml - fw.stroke + LIMIT_EPS else None


def daily_finding(fw: "Firmware", volume: float, daily: VolumeLimit, where: str) -> Finding:
    assert daily.limit is not None
    return Finding(
        Level.HARD,
        Code.FIRMWARE_ROLLING_24H_ABOVE_LIMIT,
        f"Refused by the pump: up to {volume:.4g} mL could be delivered {where}, above the "
        f"{daily.ml - fw.stroke:.4g} mL that holds the hard daily limit of "
        f"{fmt(daily.limit)} {daily.drug} (one stroke kept as margin).",
        daily.source,
        daily.drug,
        daily.limit,
        Q_(volume, ML),
    )


def bolus_finding(fw: "Firmware", volume: float, lim: VolumeLimit) -> Finding:
    assert lim.limit is not None
    return Finding(
        Level.HARD,
        Code.BOLUS_DOSE_ABOVE_LIMIT,
        f"Refused by the pump: a {volume:.4g} mL bolus holds more {lim.drug} than the hard "
        f"bolus limit of {fmt(lim.limit)} ({lim.ml:.4g} mL).",
        lim.source,
        lim.drug,
        lim.limit,
        Q_(volume, ML),
    )
