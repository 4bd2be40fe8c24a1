"""One handler per scenario action and per fault, dispatched on the entry's type.

Each variant of :data:`~thecal.implant.scenario_file.Action` and
:data:`~thecal.implant.scenario_file.Fault` has its handler registered below
(:func:`functools.singledispatch`); an unregistered variant is a programming error, not a file
error. Handlers act on the pump and write the scenario log and the action reports.
"""

from datetime import timedelta
from functools import singledispatch
from typing import TYPE_CHECKING

from thecal.devices.alarms import AlarmCondition
from thecal.devices.refusals import CommandResult
from thecal.implant.device import SimulatedPump
from thecal.implant.scenario_file import (
    AcknowledgeAction,
    AirClearedFault,
    AirInLineFault,
    AlarmTestAction,
    ClinicianBolusAction,
    DisconnectFault,
    EmptyReservoirAction,
    FractureFault,
    InterrogateAction,
    LeakFault,
    LowBatteryResetFault,
    MemoryErrorFault,
    MigrationFault,
    MotorStallFault,
    MotorStallRecoveryFault,
    MriFault,
    OcclusionFault,
    PatientBolusAction,
    PostMriResumeAction,
    ProgramAction,
    RefillAction,
    RepairFault,
    ResumeAction,
    StopAction,
    _Action,
    _Fault,
)
from thecal.implant.scenario_gate import refill, set_program
from thecal.implant.scenario_quantities import check_fraction, fraction, micro, ml, optional
from thecal.implant.scenario_results import Values
from thecal.therapy.plan_file_typed import typed_ingredients, typed_patient_bolus, typed_schedule
from thecal.therapy.plan_model import PatientBolusSettings
from thecal.therapy.pump import PumpKind
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity

if TYPE_CHECKING:
    from thecal.implant.scenario_runner import Runner

# --- clinical actions --------------------------------------------------------------------------


@singledispatch
def do_action(a: _Action, run: "Runner", index: int) -> None:
    """Carry out action ``index`` of the scenario."""
    raise NotImplementedError(f"no handler for {type(a).__name__}")


@do_action.register(RefillAction)
def _(a: RefillAction, run: "Runner", index: int) -> None:
    refill(run, index, a.volume)


@do_action.register(ProgramAction)
def _(a: ProgramAction, run: "Runner", index: int) -> None:
    # Sections not given are kept from the running program (or the scenario's initial one).
    cur, sc = run.program, run.sc
    at = f"actions[{index}]."
    admixture = (
        typed_ingredients(a.admixture, at + "admixture")
        if a.admixture
        else (cur.admixture if cur else typed_ingredients(sc.admixture, "admixture"))
    )
    schedule = (
        typed_schedule(a.schedule, at + "schedule")
        if a.schedule
        else (cur.schedule if cur else typed_schedule(sc.schedule))
    )
    bolus: PatientBolusSettings | None
    if a.patient_bolus:
        bolus = typed_patient_bolus(a.patient_bolus, at + "patient_bolus")
    elif cur:
        bolus = cur.patient_bolus
    else:
        bolus = typed_patient_bolus(sc.patient_bolus) if sc.patient_bolus else None
    threshold = (
        parse_quantity(a.low_reservoir_alarm, at + "low_reservoir_alarm", Dimension.VOLUME)
        if a.low_reservoir_alarm
        else (cur.threshold if cur else run.threshold)
    )
    set_program(run, index, admixture, schedule, bolus, threshold)


@do_action.register(PatientBolusAction)
def _(a: PatientBolusAction, run: "Runner", index: int) -> None:
    run.pump.patient_bolus_request()  # granted or denied: the device logs it


@do_action.register(ClinicianBolusAction)
def _(a: ClinicianBolusAction, run: "Runner", index: int) -> None:
    p = f"actions[{index}]."
    result = run.pump.clinician_bolus(
        parse_quantity(a.volume, p + "volume", Dimension.VOLUME),
        parse_quantity(a.duration, p + "duration", Dimension.TIME),
    )
    _command(run, index, result)


@do_action.register(AcknowledgeAction)
def _(a: AcknowledgeAction, run: "Runner", index: int) -> None:
    condition = AlarmCondition[a.alarm.upper()] if a.alarm else None
    _command(run, index, run.pump.acknowledge_alarm(condition))


@do_action.register(InterrogateAction)
def _(a: InterrogateAction, run: "Runner", index: int) -> None:
    status = run.pump.interrogate()
    alarms = ", ".join(s.condition.name for s in status.alarms) or "none"
    text = (
        f"reservoir estimate {fmt(status.reservoir_estimate)}; "
        f"delivering: {'yes' if status.delivering else 'no'}; alarms: {alarms}"
    )
    values: Values = (("reservoir_estimate", status.reservoir_estimate),)
    run.note("interrogated", text, values)
    run.report(index, "interrogate", text, values=values)


@do_action.register(PostMriResumeAction)
def _(a: PostMriResumeAction, run: "Runner", index: int) -> None:
    _command(run, index, run.pump.post_mri_resume())


@do_action.register(EmptyReservoirAction)
def _(a: EmptyReservoirAction, run: "Runner", index: int) -> None:
    out = ml(run.pump.withdraw_residual())
    run.withdrawn_since_fill += out
    msg = f"reservoir emptied through the septum: {fmt(Q_(out, 'mL'))} withdrawn"
    run.note("empty reservoir", msg, (("withdrawn", Q_(out, "mL")),))
    run.report(index, "empty_reservoir", msg, values=(("withdrawn", Q_(out, "mL")),))


@do_action.register(StopAction)
def _(a: StopAction, run: "Runner", index: int) -> None:
    _command(run, index, run.pump.stop())


@do_action.register(ResumeAction)
def _(a: ResumeAction, run: "Runner", index: int) -> None:
    _command(run, index, run.pump.resume())


@do_action.register(AlarmTestAction)
def _(a: AlarmTestAction, run: "Runner", index: int) -> None:
    result = run.pump.alarm_test()
    tones = "; ".join(f"{t.count} tone(s) over {fmt(t.duration)}" for t in result.tones)
    run.report(index, a.kind, tones or result.reason, values=())


def _command(run: "Runner", index: int, result: CommandResult) -> None:
    text = "done" if result.state_changed else (result.reason or "no change")
    run.note(result.command.replace("_", " "), text)
    run.report(index, result.command, text, result.findings)


# --- faults ------------------------------------------------------------------------------------


@singledispatch
def fault_message(f: _Fault, run: "Runner", field: str) -> str:
    """Inject fault ``f`` into the pump; the scenario log's text for it ("" when the handler
    logged it itself). ``field`` is ``faults[i].`` for errors."""
    raise NotImplementedError(f"no handler for {type(f).__name__}")


@fault_message.register(OcclusionFault)
def _(f: OcclusionFault, run: "Runner", field: str) -> str:
    frac = fraction(f.fraction, field + "fraction")
    run.pump.occlude_catheter(check_fraction(frac, field + "fraction"))
    return f"catheter occlusion {frac * 100:g} %"


@fault_message.register(LeakFault)
def _(f: LeakFault, run: "Runner", field: str) -> str:
    frac = check_fraction(fraction(f.fraction, field + "fraction"), field + "fraction")
    run.pump.leak_catheter(frac)
    return f"catheter leak: {frac * 100:g} % of what leaves the pump misses the CSF"


@fault_message.register(DisconnectFault)
def _(f: DisconnectFault, run: "Runner", field: str) -> str:
    run.pump.disconnect_catheter()
    return "catheter disconnected: drug leaves the pump but not into the CSF"


@fault_message.register(MigrationFault)
def _(f: MigrationFault, run: "Runner", field: str) -> str:
    run.pump.migrate_catheter()
    return "catheter tip migrated out of the intrathecal space"


@fault_message.register(FractureFault)
def _(f: FractureFault, run: "Runner", field: str) -> str:
    frac = 1.0 if f.fraction is None else fraction(f.fraction, field + "fraction")
    run.pump.fracture_catheter(check_fraction(frac, field + "fraction"))
    return f"catheter fractured: {frac * 100:g} % leaks"


@fault_message.register(RepairFault)
def _(f: RepairFault, run: "Runner", field: str) -> str:
    run.pump.repair_catheter()
    return "catheter revised: patent again"


@fault_message.register(MotorStallFault)
def _(f: MotorStallFault, run: "Runner", field: str) -> str:
    pump = run.pump
    pump.inject_motor_stall()
    msg = "motor stall"
    if f.duration is not None:
        d = parse_quantity(f.duration, field + "duration", Dimension.TIME)
        recover_at = pump.now + timedelta(hours=float(d.to("h").magnitude))
        pump.schedule(recover_at, lambda p: p.recover_motor_stall(), "stall recovery")
        msg += f" for {fmt(d)}"
    return msg


@fault_message.register(MotorStallRecoveryFault)
def _(f: MotorStallRecoveryFault, run: "Runner", field: str) -> str:
    run.pump.recover_motor_stall()
    return "motor stall recovered"


@fault_message.register(LowBatteryResetFault)
def _(f: LowBatteryResetFault, run: "Runner", field: str) -> str:
    run.pump.inject_low_battery_reset()
    return "low-battery reset"


@fault_message.register(MemoryErrorFault)
def _(f: MemoryErrorFault, run: "Runner", field: str) -> str:
    run.pump.inject_memory_error()
    return "memory error"


@fault_message.register(AirInLineFault)
def _(f: AirInLineFault, run: "Runner", field: str) -> str:
    _external_only(run.pump, field + "kind")
    run.pump.inject_air_in_line()  # type: ignore[attr-defined]
    return "air in line"


@fault_message.register(AirClearedFault)
def _(f: AirClearedFault, run: "Runner", field: str) -> str:
    _external_only(run.pump, field + "kind")
    run.pump.clear_air_in_line()  # type: ignore[attr-defined]
    return "line primed: air cleared"


@fault_message.register(MriFault)
def _(f: MriFault, run: "Runner", field: str) -> str:
    pump = run.pump
    before = pump.plant.left_pump_ml
    duration = parse_quantity(f.duration, field + "duration", Dimension.TIME)
    recovery = optional(f.recovery, field + "recovery", Dimension.TIME)
    try:
        pump.mri_scan(duration, recovery)
    except InputError as exc:
        raise InputError(field + exc.field.split(".")[-1], exc.message, exc.expected) from exc
    dumped = pump.plant.left_pump_ml - before
    if dumped > 0:
        _dump(run, dumped)
        return ""
    return f"MRI scan of {fmt(duration)}"


def _dump(run: "Runner", dumped_ml: float) -> None:
    """Say what an MRI magnet sent into the patient: the firmware cannot know."""
    fw = run.pump.firmware
    doses = ""
    if fw.program is not None:
        parts = [
            f"{fmt(d.to('mg') if not micro(d) else d)} {name}"
            for name, d in fw.program.admixture.doses(Q_(dumped_ml, "mL")).items()
        ]
        doses = " (" + ", ".join(parts) + ")"
    run.note(
        "fault",
        f"MRI: the magnet opened both valves; {fmt(Q_(dumped_ml, 'mL'))} left the reservoir "
        f"into the patient{doses}. The pump's estimate does not change.",
        (("dumped", Q_(dumped_ml, "mL")),),
    )


def _external_only(pump: SimulatedPump, field: str) -> None:
    if pump.spec.kind is not PumpKind.EXTERNAL:
        raise InputError(field, f"{pump.spec.model} has no air-in-line sensor", "an external pump")


def do_fault(f: _Fault, run: "Runner", index: int) -> None:
    """Inject fault ``index`` of the scenario and log it with its cause (``note``)."""
    msg = fault_message(f, run, f"faults[{index}].")
    if msg:
        run.note("fault", msg + (f" ({f.note})" if f.note else ""))
