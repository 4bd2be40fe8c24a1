"""Boluses: clinician boluses and patient-activated boluses (lockout, rolling 24 h maximum).

A running bolus is a ramp added to the commanded volume; pausing cancels it (no catch-up).
"""

import math
from typing import TYPE_CHECKING

import pint

from thecal.devices.log import EventKind
from thecal.devices.refusals import CommandResult, DeviceRefusal, not_delivering
from thecal.implant.clock import Order
from thecal.implant.firmware_daily import bolus_finding, daily_finding
from thecal.implant.firmware_delivery import LIMIT_EPS, ML, Ramp, new_segment
from thecal.implant.limits import volume_limit
from thecal.therapy.delivery import DAY_H
from thecal.therapy.drugs import Bound
from thecal.therapy.findings import Finding
from thecal.units import Dimension, check_dimension

if TYPE_CHECKING:
    from thecal.implant.firmware import Firmware


def start_ramp(fw: "Firmware", kind: str, volume: float, duration: float) -> None:
    ramp = Ramp(kind, fw.now, fw.now + duration, volume)
    fw.ramps.append(ramp)

    def end() -> None:
        fw.ramps.remove(ramp)
        fw.write_log(EventKind.BOLUS_END, f"{kind} bolus complete", (("volume", volume, "mL"),))
        new_segment(fw)

    ramp.event = fw.queue.push(ramp.end, end, Order.DEVICE, f"{kind} bolus end")
    new_segment(fw)


def clinician_bolus(
    fw: "Firmware", volume: pint.Quantity, duration: pint.Quantity
) -> CommandResult:
    check_dimension(volume, "bolus.volume", Dimension.VOLUME)
    check_dimension(duration, "bolus.duration", Dimension.TIME)
    v = float(volume.to(ML).magnitude)
    d = float(duration.to("h").magnitude)
    reason = ""
    refusal: DeviceRefusal | None = None
    findings: list[Finding] = []
    if fw.program is None or not fw.delivering:
        refusal = not_delivering(fw.holds)
        reason = "the pump is not delivering: " + ", ".join(sorted(fw.holds))
    elif v <= 0 or d <= 0:
        refusal = DeviceRefusal.NOT_POSITIVE
        reason = "bolus volume and duration must be greater than zero"
    elif v > fw.capacity:
        refusal = DeviceRefusal.OVER_CAPACITY
        reason = "bolus larger than the reservoir"
    else:
        blim = volume_limit(fw.program.admixture, fw.limits, Bound.BOLUS_DOSE_MAX)
        if v > blim.ml + LIMIT_EPS:
            findings.append(bolus_finding(fw, v, blim))
        daily = fw._daily
        if math.isfinite(daily.ml):
            t = fw.now
            past = fw.cmd(t) - fw.cmd_past(t - DAY_H)
            running = sum(r.rate * (r.end - t) for r in fw.ramps)
            total = past + running + v + fw._window
            if total > daily.ml - fw.stroke + LIMIT_EPS:
                findings.append(daily_finding(fw, total, daily, "in a 24 h window with this bolus"))
        if findings:
            refusal = DeviceRefusal.EXCEEDS_LIMITS
            reason = "refused by the pump's hard limits"
    if refusal is not None:
        fw.write_log(
            EventKind.BOLUS_REFUSED,
            f"clinician bolus refused: {reason}",
            (("volume", v, "mL"),),
        )
        return CommandResult(
            "clinician_bolus", True, False, reason, tuple(findings), refusal=refusal
        )
    fw.write_log(
        EventKind.BOLUS_START,
        "clinician bolus",
        (("volume", v, "mL"), ("duration", d, "h")),
    )
    start_ramp(fw, "clinician", v, d)
    return CommandResult("clinician_bolus", True, True)


def patient_bolus_request(fw: "Firmware") -> CommandResult:
    """Grant or deny a patient-activated bolus; the firmware enforces lockout (start to
    start) and the maximum number in any rolling 24 h itself."""
    t = fw.now
    while fw.ptb_starts and fw.ptb_starts[0] <= t - DAY_H:
        fw.ptb_starts.popleft()
    pb = fw._ptb if fw.program is not None else None
    refusal: DeviceRefusal | None = None
    reason = ""
    if pb is None:
        refusal, reason = DeviceRefusal.NO_PATIENT_BOLUS, "no patient bolus programmed"
    elif not fw.delivering:
        refusal = not_delivering(fw.holds)
        reason = "pump not delivering: " + ", ".join(sorted(fw.holds))
    elif fw.ptb_starts and t - fw.ptb_starts[-1] < pb[2] - 1e-12:
        refusal, reason = DeviceRefusal.LOCKOUT, "lockout"
    elif len(fw.ptb_starts) >= pb[3]:
        refusal, reason = DeviceRefusal.MAX_PER_DAY, "daily maximum reached"
    if refusal is not None or pb is None:
        fw.write_log(EventKind.PTB_DENIED, reason)
        return CommandResult("patient_bolus_request", True, False, reason, refusal=refusal)
    v = pb[0]
    fw.ptb_starts.append(t)
    fw.write_log(EventKind.PTB_GRANTED, "patient bolus", (("volume", v, "mL"),))
    start_ramp(fw, "patient", v, pb[1])
    return CommandResult("patient_bolus_request", True, True)


def patient_boluses_last_24h(fw: "Firmware") -> int:
    return sum(1 for p in fw.ptb_starts if p > fw.now - DAY_H)
