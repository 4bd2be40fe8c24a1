"""Reservoir alarms: the firmware's reservoir estimate against its thresholds.

Decides when the low-reservoir and empty-reservoir conditions (and the battery's elective
replacement indicator, the third monotone threshold of the same crossing search) are crossed,
raises or resolves them, and restarts the estimate at a refill.
"""

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import pint

from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.devices.states import Hold
from thecal.implant.clock import Order
from thecal.implant.firmware_delivery import LIMIT_EPS, ML
from thecal.therapy.findings import Code, Finding, Level
from thecal.units import Q_, Dimension, check_dimension, fmt

if TYPE_CHECKING:
    from thecal.implant.firmware import Firmware


def crossed(fw: "Firmware", hi: float, n_hi: int) -> list[Callable[[float], bool]]:
    """The armed threshold predicates (monotone in time) that are already true at ``hi``,
    where ``n_hi`` = strokes done by ``hi`` (computed once for all of them)."""
    preds: list[Callable[[float], bool]] = []
    if fw.program is not None:
        est = fw.estimate_at(n_hi)
        thr = fw._thr
        if est <= thr + LIMIT_EPS and not fw.alarms.present(AlarmCondition.LOW_RESERVOIR):
            preds.append(lambda x: fw.estimate_at(fw.strokes_at(x)) <= thr + LIMIT_EPS)
        limit = fw.stroke * (1.0 - 1e-9)
        if est < limit and not fw.alarms.present(AlarmCondition.EMPTY_RESERVOIR):
            preds.append(lambda x: fw.estimate_at(fw.strokes_at(x)) < limit)
    if fw.battery is not None and fw.eri_h is None and fw.battery_used(hi, n_hi) >= 1.0:
        preds.append(lambda x: fw.battery_used(x, fw.strokes_at(x)) >= 1.0)
    return preds


def evaluate(fw: "Firmware") -> None:
    """Raise or resolve the state-based conditions at ``now``."""
    if fw.program is not None:
        est = fw.estimate_at(fw.strokes)
        thr = fw._thr
        if est <= thr + LIMIT_EPS:
            fw.alarms.raise_(
                AlarmCondition.LOW_RESERVOIR,
                f"Low reservoir: estimate {max(est, 0.0):.3f} mL at or below {thr:.3f} mL.",
            )
        else:
            fw.alarms.resolve(AlarmCondition.LOW_RESERVOIR)
        empty = est < fw.stroke * (1.0 - 1e-9)
        if empty:
            fw.alarms.raise_(AlarmCondition.EMPTY_RESERVOIR)
        else:
            fw.alarms.resolve(AlarmCondition.EMPTY_RESERVOIR)
        if fw.stops_when_empty:
            fw.set_hold(Hold.EMPTY, empty)
    if fw.battery is not None and fw.eri_h is None and fw.battery_used(fw.now, fw.strokes) >= 1.0:
        eri(fw)


def eri(fw: "Firmware") -> None:
    assert fw.battery is not None
    fw.eri_h = fw.now
    fw.eos_h = fw.now + fw.battery.eri_to_eos_hours
    fw.eri_device_h = fw.now + fw.offset
    fw.eos_device_h = fw.eri_device_h + fw.battery.eri_to_eos_hours
    fw.write_log(
        EventKind.ERI,
        f"Elective replacement indicator: the pump stops in {fmt(fw.battery.eri_to_eos.to('d'))}.",
    )
    fw.alarms.raise_(AlarmCondition.ELECTIVE_REPLACEMENT)
    fw.queue.push(fw.eos_h, partial(eos, fw), Order.DEVICE, "end of service")


def eos(fw: "Firmware") -> None:
    fw.write_log(EventKind.EOS, "End of service: pump stopped.")
    fw.alarms.raise_(AlarmCondition.END_OF_SERVICE)
    fw.set_hold(Hold.EOS, True)


def refill(fw: "Firmware", volume: pint.Quantity) -> CommandResult:
    """Record the reservoir volume after a fill (the firmware's estimate restarts here)."""
    check_dimension(volume, "refill.volume", Dimension.VOLUME)
    v = float(volume.to(ML).magnitude)
    if not 0 < v <= fw.capacity + 1e-9:
        code = Code.FILL_EMPTY if v <= 0 else Code.FILL_EXCEEDS_RESERVOIR
        finding = Finding(
            Level.HARD,
            code,
            f"Refused: {fmt(volume)} is not a volume this reservoir can hold "
            f"(0 < volume ≤ {fmt(fw.caps.reservoir)}).",
            fw.spec.source("reservoir") or "device capabilities",
            limit=fw.caps.reservoir,
            value=volume,
        )
        fw.write_log(EventKind.REFILL_REFUSED, finding.message)
        refusal = DeviceRefusal.NOT_POSITIVE if v <= 0 else DeviceRefusal.OVER_CAPACITY
        return CommandResult(
            "refill", True, False, "volume out of range", (finding,), refusal=refusal
        )
    before = fw.estimate_at(fw.strokes)
    fw.fill_estimate = v
    fw.fill_strokes = fw.strokes
    fw.write_log(
        EventKind.REFILL,
        "reservoir volume recorded",
        (("volume", v, "mL"), ("expected_before", max(before, 0.0), "mL")),
    )
    fw.evaluate()
    return CommandResult(
        "refill", True, True, values=(("expected_before", Q_(max(before, 0.0), ML)),)
    )
