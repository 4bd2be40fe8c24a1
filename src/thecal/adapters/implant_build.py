"""Build a virtual implant from a plan or scenario file, for the telemetry server.

A plan file holds the prescription, not the device's non-public values (the critical alarm's
repeat interval, a SynchroMed's stroke volume): those are :class:`DeviceInputs`, required.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path

from thecal.adapters.plan_files import load_plan
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.pump import Program
from thecal.implant.device import ImplantConfig, SimulatedPump, make_device
from thecal.implant.limits import hard_limits_from_library
from thecal.programmer.commands import Qty
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import resolve
from thecal.therapy.plan_file_typed import typed_ingredients, typed_patient_bolus, typed_schedule
from thecal.therapy.plan_model import FillSettings, Plan, PumpSettings
from thecal.units import Dimension, InputError, parse_quantity


@dataclass(frozen=True)
class DeviceInputs:
    """Values a plan file does not hold but the simulator needs (not public: required)."""

    serial: str
    critical_alarm_repeat: Qty
    stroke_volume: Qty | None = None
    noncritical_alarm_repeat: Qty | None = None
    low_reservoir_alarm: Qty | None = None


def load_source(path: Path) -> tuple[Plan, DeviceInputs | None]:
    """A plan file, or a scenario file read as a plan (its device, program and initial fill;
    faults and actions are not replayed by the server). Scenario files carry device inputs."""
    with path.open("rb") as handle:
        doc = tomllib.load(handle)
    if "device" not in doc:
        return load_plan(path).to_typed(), None
    from thecal.adapters.scenario_files import load_scenario

    sc = load_scenario(path)
    d = sc.device
    T, V = Dimension.TIME, Dimension.VOLUME
    alarm = d.low_reservoir_alarm
    plan = Plan(
        title=sc.title,
        at=sc.start,
        patient=sc.patient.to_typed(),
        pump=PumpSettings(
            model=d.model,
            low_reservoir_alarm=(
                parse_quantity(alarm, "device.low_reservoir_alarm", V) if alarm else None
            ),
        ),
        admixture=typed_ingredients(sc.admixture, "admixture"),
        schedule=typed_schedule(sc.schedule),
        patient_bolus=typed_patient_bolus(sc.patient_bolus) if sc.patient_bolus else None,
        fill=FillSettings(
            volume=parse_quantity(sc.fill.volume, "fill.volume", V),
            at=sc.start,
            first_fill=sc.fill.first_fill,
        ),
    )
    inputs = DeviceInputs(
        d.serial,
        parse_quantity(d.critical_alarm_repeat, "device.critical_alarm_repeat", T),
        parse_quantity(d.stroke_volume, "device.stroke_volume", V) if d.stroke_volume else None,
        parse_quantity(d.noncritical_alarm_repeat, "device.noncritical_alarm_repeat", T)
        if d.noncritical_alarm_repeat
        else None,
    )
    return plan, inputs


def implant_from_plan(
    plan: Plan, library: DrugLibrary, catalog: DeviceCatalog, inputs: DeviceInputs
) -> SimulatedPump:
    """A virtual implant running ``plan``'s program, filled with its ``fill`` (if any), its
    clock starting at the plan's ``at``."""
    resolved = resolve(plan, library, catalog)
    spec = catalog.pump(plan.pump.model, "pump.model")
    config = ImplantConfig(
        serial=inputs.serial,
        start=plan.at,
        critical_alarm_repeat=inputs.critical_alarm_repeat,
        stroke_volume=inputs.stroke_volume,
        noncritical_alarm_repeat=inputs.noncritical_alarm_repeat,
    )
    patient = resolved.program.patient.context()
    pump = make_device(spec, config, hard_limits_from_library(library, patient))
    fill = resolved.fill
    if fill is not None:
        pump.fill_reservoir(fill.volume)
        pump.refill(fill.volume)
    threshold = inputs.low_reservoir_alarm
    if threshold is None:
        threshold = plan.pump.low_reservoir_alarm
    if threshold is None:
        threshold = spec.low_reservoir_alarm
    if threshold is None:
        raise InputError(
            "low_reservoir_alarm", f"is required for {spec.model}", "a volume such as '2 mL'"
        )
    program = Program(
        resolved.schedule, resolved.admixture, threshold, resolved.program.patient_bolus
    )
    result = pump.write_program(program)
    if not result.state_changed:
        raise InputError(
            "plan",
            "the implant refused the plan's program: "
            + (result.reason or "; ".join(f.message for f in result.findings)),
        )
    return pump


__all__ = ["DeviceInputs", "implant_from_plan", "load_source"]
