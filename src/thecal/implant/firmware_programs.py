"""Programs: validation against the firmware's own hard limits, and installation."""

import math
from typing import TYPE_CHECKING

from thecal.devices.alarms import AlarmCondition
from thecal.devices.log import EventKind
from thecal.devices.pump import Program
from thecal.devices.refusals import CommandResult, DeviceRefusal
from thecal.devices.states import Hold
from thecal.implant.firmware_daily import bolus_finding, daily_finding, straddle
from thecal.implant.firmware_delivery import LIMIT_EPS, ML, cancel_ramps, new_segment
from thecal.implant.limits import volume_limit, window_max
from thecal.therapy.delivery import DeliveryModel
from thecal.therapy.device_limits import capability_findings
from thecal.therapy.drugs import Bound
from thecal.therapy.findings import Code, Finding, Level
from thecal.therapy.schedule import Schedule
from thecal.units import Dimension, check_dimension, fmt

if TYPE_CHECKING:
    from thecal.implant.firmware import Firmware


def check_program(fw: "Firmware", program: Program) -> list[Finding]:
    """Every reason the firmware refuses ``program`` (empty = acceptable)."""
    out: list[Finding] = []
    spec = fw.spec
    thr = program.low_reservoir_threshold
    check_dimension(thr, "program.low_reservoir_threshold", Dimension.VOLUME)
    if thr.magnitude <= 0 or thr.to(ML).magnitude >= fw.capacity:
        out.append(
            Finding(
                Level.HARD,
                Code.FIRMWARE_ALARM_THRESHOLD,
                f"The low-reservoir alarm threshold {fmt(thr)} is refused: it must be above "
                f"0 mL (the alarm can never be switched off) and below the reservoir "
                f"({fmt(fw.caps.reservoir)}).",
                "FDA/UPenn Generic PCA pump reference model (Arney et al., Generic "
                "Infusion Pump Hazard Analysis and Safety Requirements, UPenn MS-CIS-08-31, "
                "2009): critical alarms can be configured but never switched off",
                limit=fw.caps.reservoir,
                value=thr,
            )
        )
    missing = program.modes() - fw.caps.modes
    if missing:
        out.append(
            Finding(
                Level.HARD,
                Code.FIRMWARE_MODE_UNSUPPORTED,
                f"{spec.model} does not support: {', '.join(sorted(missing))}.",
                "device capabilities",
            )
        )
    # The firmware refuses on its own hard limits only (the core's info findings are advice).
    out += [f for f in capability_findings(program.schedule.basal, spec) if f.level is Level.HARD]
    for ing in program.admixture.ingredients:
        if fw.limits.get(ing.drug.name) is None:
            out.append(
                Finding(
                    Level.HARD,
                    Code.FIRMWARE_DRUG_UNKNOWN,
                    f"{ing.drug.name} is not in the drug library loaded into this pump.",
                    "firmware drug library (provisioning)",
                    ing.drug.name,
                )
            )
    pb = program.patient_bolus
    if pb is not None and (
        pb.volume.magnitude <= 0
        or pb.duration.magnitude <= 0
        or pb.lockout < pb.duration
        or pb.max_per_day < 1
    ):
        out.append(
            Finding(
                Level.HARD,
                Code.FIRMWARE_PATIENT_BOLUS_INVALID,
                "The patient bolus needs a volume and duration above zero, a lockout at "
                "least as long as the bolus, and at least one bolus a day.",
                "firmware rule",
            )
        )
        return out
    bolus_lim = volume_limit(program.admixture, fw.limits, Bound.BOLUS_DOSE_MAX)
    volumes = [float(b.volume.to(ML).magnitude) for b in program.schedule.periodic]
    volumes += [float(b.volume.to(ML).magnitude) for b in program.schedule.single]
    if pb is not None:
        volumes.append(float(pb.volume.to(ML).magnitude))
    for v in volumes:
        if v > bolus_lim.ml + LIMIT_EPS:
            out.append(bolus_finding(fw, v, bolus_lim))
            break
    daily = volume_limit(program.admixture, fw.limits, Bound.DAILY_DOSE_MAX)
    if math.isfinite(daily.ml):
        model = model_for(fw, program.schedule)
        static = window_max(model, pb, fw.now + fw.offset)
        if static > daily.ml - fw.stroke + LIMIT_EPS:
            out.append(daily_finding(fw, static, daily, "in its worst 24 h"))
        else:
            worst = straddle(fw, model, pb, fw.offset, daily.ml)
            if worst is not None:
                out.append(daily_finding(fw, worst, daily, "in the 24 h around this change"))
    return out


def write_program(fw: "Firmware", program: Program) -> CommandResult:
    findings = fw.check_program(program)
    if findings:
        fw.write_log(EventKind.PROGRAM_REFUSED, "; ".join(f.code.value for f in findings))
        return CommandResult(
            "write_program",
            True,
            False,
            "refused by the pump's hard limits",
            tuple(findings),
            refusal=DeviceRefusal.EXCEEDS_LIMITS,
        )
    if program == fw.program and Hold.MEMORY not in fw.holds:
        return CommandResult(
            "write_program", True, False, "program unchanged", refusal=DeviceRefusal.UNCHANGED
        )
    install(fw, program)
    fw.write_log(
        EventKind.PROGRAM_WRITTEN,
        "program written",
        (("low_reservoir_threshold", float(program.low_reservoir_threshold.to(ML).m), "mL"),),
    )
    fw.alarms.resolve(AlarmCondition.LOW_BATTERY_RESET)
    fw.alarms.resolve(AlarmCondition.MEMORY_ERROR)
    fw.set_hold(Hold.MEMORY, False)
    fw.evaluate()
    return CommandResult("write_program", True, True)


def model_for(fw: "Firmware", schedule: Schedule) -> DeliveryModel:
    """The compiled model of ``schedule``; the one built while checking a program is reused
    when that program is installed (compiling converts every step's rate: pint-heavy)."""
    last = fw._last_model
    if last is None or last.schedule is not schedule:
        last = fw._last_model = DeliveryModel(schedule)
    return last


def install(fw: "Firmware", program: Program) -> None:
    cancel_ramps(fw, "cancelled by a new program")
    fw.program = program
    fw.model = model_for(fw, program.schedule)
    fw._thr = float(program.low_reservoir_threshold.to(ML).magnitude)
    pb = program.patient_bolus
    fw._ptb = (
        (
            float(pb.volume.to(ML).magnitude),
            float(pb.duration.to("h").magnitude),
            float(pb.lockout.to("h").magnitude),
            pb.max_per_day,
        )
        if pb is not None
        else None
    )
    fw._daily = volume_limit(program.admixture, fw.limits, Bound.DAILY_DOSE_MAX)
    fw._window = window_max(fw.model, program.patient_bolus, fw.now + fw.offset)
    fw.holds.discard(Hold.NO_PROGRAM)
    new_segment(fw)
