"""Scenarios: a device, a program, a fill, faults and timed clinical actions, run in simulated time.

A scenario (docs/scenario-format.md) is the model below (pydantic, unknown keys refused). The
program part reuses the plan-file sections (``admixture``, ``schedule``, ``patient_bolus``) and
is resolved by :func:`thecal.therapy.plan.resolve`, so a scenario's program is read exactly as a
plan file's. :func:`run_scenario` builds the device from the catalog and the drug library,
applies the fill and the program, schedules the faults and actions on the engine
(:meth:`SimulatedPump.schedule`), runs to the end, and returns a :class:`ScenarioResult`.

Clinical actions go through the therapy core as they would in a clinic: every program is checked
by the safety gate before it is sent (a hard finding means it is never sent); every refill is a
:class:`RefillProposal` with the last fill and the residual actually withdrawn, judged by the one
refill assessment (:func:`thecal.therapy.refill_assessment.assess_refill`, the gate's refill
path: discrepancy, accuracy band, reservoir ran empty -> loss-of-tolerance restart, physical
impossibility), so it judges the numbers the nurse would have.

Pure like the engine: no I/O, no wall clock. Numbers come from the scenario, the catalog or the
library; none is hard-coded here.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any, Literal

import numpy as np
import pint
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, model_validator

from thecal.devices.catalog import DeviceCatalog
from thecal.devices.protocol import (
    ALARMS,
    AlarmCondition,
    CommandResult,
    DeviceStatus,
    EventKind,
    Program,
)
from thecal.implant.device import ImplantConfig, SimulatedPump, make_device
from thecal.implant.limits import hard_limits_from_library
from thecal.implant.plant import PlantTruth
from thecal.therapy.delivery import daily_dose
from thecal.therapy.findings import Finding, blocks, ordered
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import (
    Duration,
    FillEntry,
    FlowRate,
    IngredientEntry,
    PatientBolusEntry,
    PatientSpec,
    PlanFile,
    PreviousEntry,
    PumpEntry,
    RefillEntry,
    ReportedBolusEntry,
    ResolvedPlan,
    ScheduleEntry,
    Volume,
    resolve,
)
from thecal.therapy.pump import PumpKind
from thecal.therapy.refill_assessment import RefillAssessment, assess_refill
from thecal.therapy.safety_gate import check
from thecal.units import Q_, Dimension, InputError, fmt, parse_quantity

# --- the scenario file model -----------------------------------------------------------------


def _when(value: Any) -> datetime | str:
    """A time: a TOML date-time, or a duration after ``start`` such as ``"30 d"``."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        try:
            q = parse_quantity(value, "", Dimension.TIME)
        except InputError as exc:
            raise ValueError(
                f"{exc.message} (expected a date-time such as 2024-01-01T09:00:00 or a "
                "duration after start such as '30 d')"
            ) from exc
        if q.magnitude < 0:
            raise ValueError("must not be negative (expected a duration after start)")
        return value
    raise ValueError(
        f"got {value!r} (expected a date-time such as 2024-01-01T09:00:00 or a duration after "
        "start such as '30 d')"
    )


def _fraction(value: Any) -> str:
    """A fraction written as text with '%' (``"50 %"``) or a plain number (``0.5``)."""
    try:
        parse_quantity(value, "", Dimension.DIMENSIONLESS)
    except InputError as exc:
        raise ValueError(f"{exc.message} (expected a fraction such as '50 %' or 0.5)") from exc
    return str(value)


When = Annotated[
    datetime | str,
    PlainValidator(_when, json_schema_input_type=str),
    Field(description="a date-time, or a duration after start such as '30 d'"),
]
Fraction = Annotated[
    str,
    PlainValidator(_fraction, json_schema_input_type=str),
    Field(description="a fraction such as '50 %' or 0.5"),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceEntry(_Model):
    """The simulated device. Values that are not public are required inputs here."""

    model: str = Field(description="a pump model from the device catalog")
    serial: str = "SIM-0001"
    seed: int = Field(0, description="seeds the device's random draws (flow bias, MRI recovery)")
    flow_bias: Fraction | Literal["draw"] = Field(
        "0 %", description="'+2 %' = 2 % more than programmed; 'draw' = from the seed"
    )
    flow_bias_band: tuple[Fraction, Fraction] | None = Field(
        None, description="band to draw the bias from when the catalog's is not fully public"
    )
    stroke_volume: Volume | None = Field(
        None, description="volume per stroke; required when the catalog has none (SynchroMed)"
    )
    critical_alarm_repeat: Duration = Field(description="not public for any pump: required")
    noncritical_alarm_repeat: Duration | None = Field(
        None, description="required when the catalog has none (Prometra, Curlin)"
    )
    catheter_volume: Volume | None = None
    bag_volume: Volume | None = Field(None, description="external pumps: the bag volume")
    low_reservoir_alarm: Volume | None = Field(
        None, description="programmed alarm threshold (default: the catalog's recommendation)"
    )
    simulate_battery: bool = True
    battery_calibration_flow: FlowRate | None = None
    battery_telemetry_cost: Duration | None = None


class InitialFill(_Model):
    volume: Volume
    first_fill: bool = Field(False, description="first fill of a new pump")


FaultKind = Literal[
    "occlusion",
    "leak",
    "disconnect",
    "migration",
    "fracture",
    "repair",
    "motor_stall",
    "motor_stall_recovery",
    "low_battery_reset",
    "memory_error",
    "mri",
    "air_in_line",
    "air_cleared",
]
_FAULT_FIELDS: dict[str, set[str]] = {
    "occlusion": {"fraction"},
    "leak": {"fraction"},
    "fracture": {"fraction"},
    "motor_stall": {"duration"},
    "mri": {"duration", "recovery"},
}
_FAULT_REQUIRED: dict[str, set[str]] = {"occlusion": {"fraction"}, "leak": {"fraction"}}


class FaultEntry(_Model):
    kind: FaultKind
    at: When
    fraction: Fraction | None = Field(None, description="occlusion / leak fraction")
    duration: Duration | None = Field(None, description="MRI scan time; motor stall length")
    recovery: Duration | None = Field(None, description="MRI: delay to proper delivery")
    note: str = Field("", description="free text for the log (the cause, e.g. calcification)")

    @model_validator(mode="after")
    def _fields(self) -> "FaultEntry":
        _only(self, self.kind, {"fraction", "duration", "recovery"}, _FAULT_FIELDS, _FAULT_REQUIRED)
        if self.kind == "mri" and self.duration is None:
            raise ValueError("kind = 'mri' needs 'duration' (the scan time, e.g. '1 h')")
        return self


ActionKind = Literal[
    "refill",
    "program",
    "patient_bolus",
    "clinician_bolus",
    "acknowledge",
    "interrogate",
    "post_mri_resume",
    "empty_reservoir",
    "stop",
    "resume",
    "alarm_test",
]
_ACTION_FIELDS: dict[str, set[str]] = {
    "refill": {"volume"},
    "program": {"admixture", "schedule", "patient_bolus", "low_reservoir_alarm"},
    "patient_bolus": {"per_day"},
    "clinician_bolus": {"volume", "duration"},
    "acknowledge": {"alarm"},
}
_ACTION_REQUIRED: dict[str, set[str]] = {
    "refill": {"volume"},
    "clinician_bolus": {"volume", "duration"},
}
AlarmName = Literal[
    "empty_reservoir",
    "motor_stall",
    "end_of_service",
    "low_battery_reset",
    "memory_error",
    "occlusion",
    "air_in_line",
    "low_reservoir",
    "elective_replacement",
]


class ActionEntry(_Model):
    kind: ActionKind
    at: When
    every: Duration | None = Field(None, description="repeat at this interval")
    until: When | None = Field(None, description="last repeat at or before (default: the end)")
    count: int | None = Field(None, ge=1, description="number of times (with 'every')")
    volume: Volume | None = Field(None, description="refill: volume filled; bolus volume")
    duration: Duration | None = Field(None, description="clinician bolus duration")
    admixture: list[IngredientEntry] | None = Field(None, min_length=1, max_length=4)
    schedule: ScheduleEntry | None = None
    patient_bolus: PatientBolusEntry | None = None
    low_reservoir_alarm: Volume | None = None
    per_day: int | None = Field(None, ge=1, description="patient bolus requests a day")
    alarm: AlarmName | None = Field(None, description="acknowledge one alarm (default: all)")
    note: str = ""

    @model_validator(mode="after")
    def _fields(self) -> "ActionEntry":
        optional = {"volume", "duration", "admixture", "schedule", "patient_bolus"}
        optional |= {"low_reservoir_alarm", "per_day", "alarm"}
        _only(self, self.kind, optional, _ACTION_FIELDS, _ACTION_REQUIRED)
        if self.kind == "program" and not any(
            getattr(self, f) is not None for f in _ACTION_FIELDS["program"]
        ):
            raise ValueError("kind = 'program' needs at least one of " + _names("program"))
        if self.per_day is not None and self.every is not None:
            raise ValueError("give 'per_day' or 'every', not both")
        if (self.until is not None or self.count is not None) and (
            self.every is None and self.per_day is None
        ):
            raise ValueError("'until' and 'count' need 'every' (or 'per_day')")
        return self


def _names(kind: str) -> str:
    return ", ".join(f"'{n}'" for n in sorted(_ACTION_FIELDS[kind]))


def _only(
    entry: BaseModel,
    kind: str,
    optional: set[str],
    allowed: dict[str, set[str]],
    required: dict[str, set[str]],
) -> None:
    ok = allowed.get(kind, set())
    for name in sorted(optional):
        if getattr(entry, name) is not None and name not in ok:
            raise ValueError(f"'{name}' is not used by kind = '{kind}'")
    for name in sorted(required.get(kind, set())):
        if getattr(entry, name) is None:
            raise ValueError(f"kind = '{kind}' needs '{name}'")


class Scenario(_Model):
    """A Thecal scenario file (TOML)."""

    title: str = ""
    description: str = ""
    start: datetime = Field(description="simulation start (device time); the initial fill")
    until: When = Field(description="end: a date-time, or a duration after start such as '2 y'")
    patient: PatientSpec = Field(default_factory=PatientSpec)
    device: DeviceEntry
    admixture: list[IngredientEntry] = Field(min_length=1, max_length=4)
    schedule: ScheduleEntry
    patient_bolus: PatientBolusEntry | None = None
    fill: InitialFill
    faults: list[FaultEntry] = Field(default_factory=list)
    actions: list[ActionEntry] = Field(default_factory=list)


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of the scenario file, generated from the models."""
    return Scenario.model_json_schema()


# --- results ---------------------------------------------------------------------------------

Values = tuple[tuple[str, pint.Quantity], ...]


@dataclass(frozen=True)
class LogEntry:
    """One line of the merged log. ``source`` is ``"device"`` (the pump's own log, what a
    programmer reads) or ``"scenario"`` (what happened outside the pump: faults, clinicians'
    hands, the truth a pump cannot see). ``seq`` is the device log's sequence number."""

    time: datetime
    source: str
    kind: str
    message: str
    seq: int | None = None
    device_time: datetime | None = None
    alarm: AlarmCondition | None = None
    values: Values = ()


@dataclass(frozen=True)
class ActionReport:
    """What a clinical action did and what the therapy core said about it. ``index`` is the
    action's position in ``actions`` (-1: the initial program at start)."""

    index: int
    kind: str
    time: datetime
    summary: str
    findings: tuple[Finding, ...] = ()
    values: Values = ()
    sent: bool = True

    @property
    def blocked(self) -> bool:
        return blocks(self.findings)


@dataclass(frozen=True)
class AlarmPeriod:
    """An alarm from raised to cleared (``end`` None: still active at the end)."""

    condition: AlarmCondition
    critical: bool
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class TimeSeries:
    """Samples taken at scenario events (before and after each action or fault) and at most
    every ``step`` in between — never per minute. Quantities are numpy arrays in mL."""

    times: tuple[datetime, ...]
    reservoir_true: pint.Quantity
    reservoir_estimate: pint.Quantity
    left_pump: pint.Quantity
    to_csf: pint.Quantity
    commanded: pint.Quantity
    step: pint.Quantity


@dataclass(frozen=True)
class ScenarioResult:
    title: str
    model: str
    serial: str
    seed: int
    flow_bias: float
    start: datetime
    end: datetime
    log: tuple[LogEntry, ...]
    reports: tuple[ActionReport, ...]
    status: DeviceStatus  # the firmware's view at the end (no telemetry session)
    truth: PlantTruth
    series: TimeSeries
    doses_to_csf: tuple[tuple[str, pint.Quantity], ...]
    doses_left_pump: tuple[tuple[str, pint.Quantity], ...]
    alarm_periods: tuple[AlarmPeriod, ...]

    def findings(self) -> tuple[Finding, ...]:
        """Every finding of every clinical action, in order."""
        return tuple(f for r in self.reports for f in r.findings)

    def device_events(self, kind: EventKind) -> tuple[LogEntry, ...]:
        return tuple(e for e in self.log if e.source == "device" and e.kind == kind.value)


# --- the runner ------------------------------------------------------------------------------


def _at(value: datetime | str, start: datetime, field: str) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        q = parse_quantity(value, field, Dimension.TIME)
        return start + timedelta(hours=float(q.to("h").magnitude))


def _ml(q: pint.Quantity) -> float:
    return float(q.to("mL").magnitude)


def _frac(text: str, field: str) -> float:
    return float(parse_quantity(text, field, Dimension.DIMENSIONLESS).to("").magnitude)


def _opt(text: str | None, field: str, dim: Dimension) -> pint.Quantity | None:
    return None if text is None else parse_quantity(text, field, dim)


def _vol_text(ml: float) -> str:
    return f"{ml!r} mL"


_PLAN_FIELDS = {"pump.low_reservoir_alarm": "device.low_reservoir_alarm"}


def _renamed(exc: InputError, prefix: str) -> InputError:
    """A plan-file error renamed to the scenario's field (``pump.*`` is ``device.*`` here)."""
    field = _PLAN_FIELDS.get(exc.field, exc.field)
    if field.startswith("pump."):
        field = "device." + field.removeprefix("pump.")
    return InputError(f"{prefix}{field}", exc.message, exc.expected)


@dataclass
class _Program:
    """The program the clinic believes is running: the plan-file entries it came from."""

    admixture: list[IngredientEntry]
    schedule: ScheduleEntry
    patient_bolus: PatientBolusEntry | None
    threshold: str
    started: datetime
    resolved: ResolvedPlan
    increases: list[datetime]


class _Runner:
    def __init__(
        self,
        sc: Scenario,
        library: DrugLibrary,
        catalog: DeviceCatalog,
        end: datetime,
        seed: int,
        step: pint.Quantity | None,
    ) -> None:
        self.sc = sc
        self.library = library
        self.catalog = catalog
        self.end = end
        self.spec = catalog.pump(sc.device.model, "device.model")
        dev = sc.device
        self.pump_entry_base = PumpEntry(model=dev.model, reservoir=dev.bag_volume)
        self.threshold = self._threshold(dev.low_reservoir_alarm)
        self.scenario_log: list[tuple[int, LogEntry]] = []
        self.reports: list[ActionReport] = []
        self.times: list[datetime] = []
        self.cols: list[list[float]] = [[], [], [], [], []]
        self.doses_csf: dict[str, float] = {}
        self.doses_left: dict[str, float] = {}
        self.dose_units: dict[str, str] = {}
        self._last_truth = (0.0, 0.0)
        span_h = (end - sc.start).total_seconds() / 3600.0
        if step is None:
            # ~500 samples over the run, at least hourly apart: enough for a readable plot.
            step_h = max(1.0, span_h / 500.0)
        else:
            step_h = float(step.to("h").magnitude)
            if step_h <= 0:
                raise InputError("step", "must be greater than zero", "e.g. '1 d'")
        self.step_h = step_h
        self.pump = self._build(seed)
        self.program: _Program | None = None
        self.last_fill: tuple[float, datetime, bool] = (0.0, sc.start, False)
        self.withdrawn_since_fill = 0.0
        self.current_note = ""

    # -- construction -----------------------------------------------------------------------

    def _threshold(self, entered: str | None) -> str:
        if entered is not None:
            return entered
        catalog_value = self.spec.low_reservoir_alarm
        if catalog_value is None:
            raise InputError(
                "device.low_reservoir_alarm",
                f"is required: the catalog has no recommended level for {self.spec.model}",
                "a volume such as '3 mL'",
            )
        return _vol_text(_ml(catalog_value))

    def _build(self, seed: int) -> SimulatedPump:
        dev = self.sc.device
        bias: float | None
        bias = None if dev.flow_bias == "draw" else _frac(dev.flow_bias, "device.flow_bias")
        band = None
        if dev.flow_bias_band is not None:
            band = (
                _frac(dev.flow_bias_band[0], "device.flow_bias_band[0]"),
                _frac(dev.flow_bias_band[1], "device.flow_bias_band[1]"),
            )
        T, V = Dimension.TIME, Dimension.VOLUME
        config = ImplantConfig(
            serial=dev.serial,
            start=self.sc.start,
            critical_alarm_repeat=parse_quantity(
                dev.critical_alarm_repeat, "device.critical_alarm_repeat", T
            ),
            stroke_volume=_opt(dev.stroke_volume, "device.stroke_volume", V),
            noncritical_alarm_repeat=_opt(
                dev.noncritical_alarm_repeat, "device.noncritical_alarm_repeat", T
            ),
            flow_bias=bias,
            flow_bias_band=band,
            seed=seed,
            catheter_volume=_opt(dev.catheter_volume, "device.catheter_volume", V),
            bag_volume=_opt(dev.bag_volume, "device.bag_volume", V),
            simulate_battery=dev.simulate_battery,
            battery_calibration_flow=_opt(
                dev.battery_calibration_flow, "device.battery_calibration_flow", Dimension.FLOW_RATE
            ),
            battery_telemetry_cost=_opt(
                dev.battery_telemetry_cost, "device.battery_telemetry_cost", T
            ),
        )
        limits = hard_limits_from_library(self.library, _patient(self.sc.patient))
        try:
            return make_device(self.spec, config, limits)
        except InputError as exc:
            raise _device_error(exc) from exc

    # -- the log and the samples ------------------------------------------------------------

    def note(self, kind: str, message: str, values: Values = ()) -> None:
        if self.current_note:
            message += f" [{self.current_note}]"
        entry = LogEntry(self.pump.now, "scenario", kind, message, values=values)
        self.scenario_log.append((len(self.pump.firmware.log), entry))

    def sample(self) -> None:
        truth = self.pump.plant
        fw = self.pump.firmware
        left, csf = truth.left_pump_ml, truth.to_csf_ml
        d_left, d_csf = left - self._last_truth[0], csf - self._last_truth[1]
        if (d_left or d_csf) and fw.program is not None:
            # Drug that moved since the last sample was the admixture of the running program.
            for ing in fw.program.admixture.ingredients:
                name = ing.drug.name
                unit = "ug/mL" if _micro(ing.concentration) else "mg/mL"
                conc = float(ing.concentration.to(unit).magnitude)
                self.dose_units.setdefault(name, unit.split("/")[0])
                self.doses_left[name] = self.doses_left.get(name, 0.0) + d_left * conc
                self.doses_csf[name] = self.doses_csf.get(name, 0.0) + d_csf * conc
        self._last_truth = (left, csf)
        self.times.append(self.pump.now)
        est = max(fw.estimate_at(fw.strokes), 0.0)
        for col, v in zip(
            self.cols, (truth.reservoir_ml, est, left, csf, fw.strokes * fw.stroke), strict=True
        ):
            col.append(v)

    def report(
        self,
        index: int,
        kind: str,
        summary: str,
        findings: tuple[Finding, ...] = (),
        values: Values = (),
        sent: bool = True,
    ) -> None:
        if self.current_note:
            summary += f" [{self.current_note}]"
        self.reports.append(
            ActionReport(index, kind, self.pump.now, summary, ordered(findings), values, sent)
        )

    # -- the program through the gate -------------------------------------------------------

    def _plan(self, prefix: str, **fields: Any) -> ResolvedPlan:
        plan_fields: dict[str, Any] = {"patient": self.sc.patient}
        plan_fields.update(fields)
        try:
            plan = PlanFile.model_validate(plan_fields)
            return resolve(plan, self.library, self.catalog)
        except InputError as exc:
            raise _renamed(exc, prefix) from exc

    def _pump_entry(self, threshold: str) -> PumpEntry:
        return self.pump_entry_base.model_copy(update={"low_reservoir_alarm": threshold})

    def set_program(
        self,
        index: int,
        admixture: list[IngredientEntry],
        schedule: ScheduleEntry,
        bolus: PatientBolusEntry | None,
        threshold: str,
    ) -> None:
        """Check a program with the safety gate (against the running one), then send it."""
        prefix = "" if index < 0 else f"actions[{index}]."
        now = self.pump.now
        cur = self.program
        previous = None
        if cur is not None:
            previous = PreviousEntry(
                started=cur.started,
                admixture=cur.admixture,
                schedule=cur.schedule,
                patient_bolus=cur.patient_bolus,
                earlier_increases=cur.increases,
            )
        resolved = self._plan(
            prefix,
            at=now,
            pump=self._pump_entry(threshold),
            admixture=admixture,
            schedule=schedule,
            patient_bolus=bolus,
            previous=previous,
        )
        gate = check(resolved.program, self.library)
        findings = (*gate.findings, *resolved.rounding)
        kind = "program" if index >= 0 else "initial program"
        if gate.blocked:
            self.report(index, kind, "not sent: a hard finding refuses it", findings, sent=False)
            self.note("program not sent", "safety gate refused the program (hard finding)")
            return
        thr = parse_quantity(
            threshold, f"{prefix or 'device.'}low_reservoir_alarm", Dimension.VOLUME
        )
        program = Program(
            resolved.schedule, resolved.admixture, thr, resolved.program.patient_bolus
        )
        result = self.pump.write_program(program)
        if not result.state_changed:
            why = f"refused by the pump: {result.reason}"
            self.note(kind, why)
            self.report(index, kind, why, (*findings, *result.findings), sent=False)
            return
        increases = list(cur.increases) if cur else []
        if cur is not None and _increased(cur.resolved, resolved):
            increases.append(now)
        self.program = _Program(admixture, schedule, bolus, threshold, now, resolved, increases)
        doses = daily_dose(resolved.schedule, resolved.admixture).nominal
        text = ", ".join(f"{name} {fmt(d)}" for name, d in doses.items())
        self.note(kind, f"written: {text}")
        self.report(index, kind, f"written: {text}", findings, (("low_reservoir_alarm", thr),))

    # -- actions ----------------------------------------------------------------------------

    def refill(self, index: int, volume_text: str) -> None:
        prefix = f"actions[{index}]."
        pump = self.pump
        volume = parse_quantity(volume_text, prefix + "volume", Dimension.VOLUME).to("mL")
        expected_fw = pump.peek().reservoir_estimate
        withdrawn_now = _ml(pump.withdraw_residual())
        withdrawn = self.withdrawn_since_fill + withdrawn_now
        pump.fill_reservoir(volume)
        result = pump.refill(volume)
        last_ml, last_at, first = self.last_fill
        now = pump.now
        findings: tuple[Finding, ...] = ()
        assessment: RefillAssessment | None = None
        cur = self.program
        if cur is not None and last_ml > 0:
            reported = [
                ReportedBolusEntry(at=e.at, volume=_vol_text(_ml(e.quantity("volume"))))
                for e in pump.events()
                if e.kind is EventKind.PTB_GRANTED and e.at >= last_at
            ]
            resolved = self._plan(
                prefix,
                at=now,
                pump=self._pump_entry(cur.threshold),
                admixture=cur.admixture,
                schedule=cur.schedule,
                patient_bolus=cur.patient_bolus,
                fill=FillEntry(volume=_vol_text(_ml(volume)), at=now),
                previous=PreviousEntry(
                    started=cur.started,
                    schedule=cur.schedule,
                    patient_bolus=cur.patient_bolus,
                    earlier_increases=cur.increases,
                ),
                refill=RefillEntry(
                    last_fill=FillEntry(volume=_vol_text(last_ml), at=last_at, first_fill=first),
                    withdrawn=_vol_text(withdrawn),
                    filled=_vol_text(_ml(volume)),
                    reported_boluses=reported,
                ),
            )
            proposal = resolved.refill_proposal
            assert proposal is not None  # the plan has a [fill]
            # The one refill assessment (what the gate runs): this action only reports it.
            assessment = assess_refill(proposal, self.library)
            findings = assessment.findings
        values: Values = (
            ("expected_by_pump", expected_fw),
            ("withdrawn", Q_(withdrawn, "mL")),
            ("filled", volume),
        )
        if assessment is not None and assessment.expected is not None:
            values += (("expected_by_schedule", assessment.expected.volume),)
        if assessment is not None and assessment.discrepancy is not None:
            values += (("discrepancy", assessment.discrepancy.discrepancy),)
        withdrew = fmt(Q_(withdrawn_now, "mL"))
        if self.withdrawn_since_fill:
            withdrew += (
                f" (+ {fmt(Q_(self.withdrawn_since_fill, 'mL'))} emptied earlier = "
                f"{fmt(Q_(withdrawn, 'mL'))})"
            )
        summary = f"withdrew {withdrew}; the pump expected {fmt(expected_fw)}; filled {fmt(volume)}"
        if not result.state_changed:
            summary += f"; the pump refused the volume: {result.reason}"
            findings = (*findings, *result.findings)
        self.note("refill", summary, values)
        self.report(index, "refill", summary, findings, values)
        self.last_fill = (_ml(volume), now, False)
        self.withdrawn_since_fill = 0.0

    def run_action(self, index: int, a: ActionEntry) -> None:
        self.current_note = a.note
        try:
            self._action(index, a)
        finally:
            self.current_note = ""

    def _action(self, index: int, a: ActionEntry) -> None:
        pump = self.pump
        kind = a.kind
        if kind == "refill":
            assert a.volume is not None
            self.refill(index, a.volume)
        elif kind == "program":
            cur = self.program
            admixture = a.admixture or (cur.admixture if cur else self.sc.admixture)
            schedule = a.schedule or (cur.schedule if cur else self.sc.schedule)
            bolus = a.patient_bolus or (cur.patient_bolus if cur else self.sc.patient_bolus)
            threshold = a.low_reservoir_alarm or (cur.threshold if cur else self.threshold)
            self.set_program(index, admixture, schedule, bolus, threshold)
        elif kind == "patient_bolus":
            pump.patient_bolus_request()  # granted or denied: the device logs it
        elif kind == "clinician_bolus":
            assert a.volume is not None and a.duration is not None
            p = f"actions[{index}]."
            result = pump.clinician_bolus(
                parse_quantity(a.volume, p + "volume", Dimension.VOLUME),
                parse_quantity(a.duration, p + "duration", Dimension.TIME),
            )
            self._command(index, result)
        elif kind == "acknowledge":
            condition = AlarmCondition[a.alarm.upper()] if a.alarm else None
            self._command(index, pump.acknowledge_alarm(condition))
        elif kind == "interrogate":
            status = pump.interrogate()
            alarms = ", ".join(s.condition.name for s in status.alarms) or "none"
            text = (
                f"reservoir estimate {fmt(status.reservoir_estimate)}; "
                f"delivering: {'yes' if status.delivering else 'no'}; alarms: {alarms}"
            )
            values: Values = (("reservoir_estimate", status.reservoir_estimate),)
            self.note("interrogated", text, values)
            self.report(index, "interrogate", text, values=values)
        elif kind == "post_mri_resume":
            self._command(index, pump.post_mri_resume())
        elif kind == "empty_reservoir":
            out = _ml(pump.withdraw_residual())
            self.withdrawn_since_fill += out
            msg = f"reservoir emptied through the septum: {fmt(Q_(out, 'mL'))} withdrawn"
            self.note("empty reservoir", msg, (("withdrawn", Q_(out, "mL")),))
            self.report(index, "empty_reservoir", msg, values=(("withdrawn", Q_(out, "mL")),))
        elif kind == "stop":
            self._command(index, pump.stop())
        elif kind == "resume":
            self._command(index, pump.resume())
        elif kind == "alarm_test":
            result = pump.alarm_test()
            tones = "; ".join(f"{t.count} tone(s) over {fmt(t.duration)}" for t in result.tones)
            self.report(index, kind, tones or result.reason, values=())

    def _command(self, index: int, result: CommandResult) -> None:
        text = "done" if result.state_changed else (result.reason or "no change")
        self.note(result.command.replace("_", " "), text)
        self.report(index, result.command, text, result.findings)

    def run_fault(self, index: int, f: FaultEntry) -> None:
        pump = self.pump
        field = f"faults[{index}]."
        cause = f" ({f.note})" if f.note else ""
        kind = f.kind
        before = pump.plant.left_pump_ml
        msg = ""
        if kind == "occlusion":
            assert f.fraction is not None
            frac = _frac(f.fraction, field + "fraction")
            pump.occlude_catheter(_check_fraction(frac, field + "fraction"))
            msg = f"catheter occlusion {frac * 100:g} %"
        elif kind == "leak":
            assert f.fraction is not None
            frac = _check_fraction(_frac(f.fraction, field + "fraction"), field + "fraction")
            pump.leak_catheter(frac)
            msg = f"catheter leak: {frac * 100:g} % of what leaves the pump misses the CSF"
        elif kind == "disconnect":
            pump.disconnect_catheter()
            msg = "catheter disconnected: drug leaves the pump but not into the CSF"
        elif kind == "migration":
            pump.migrate_catheter()
            msg = "catheter tip migrated out of the intrathecal space"
        elif kind == "fracture":
            frac = 1.0 if f.fraction is None else _frac(f.fraction, field + "fraction")
            pump.fracture_catheter(_check_fraction(frac, field + "fraction"))
            msg = f"catheter fractured: {frac * 100:g} % leaks"
        elif kind == "repair":
            pump.repair_catheter()
            msg = "catheter revised: patent again"
        elif kind == "motor_stall":
            pump.inject_motor_stall()
            msg = "motor stall"
            if f.duration is not None:
                d = parse_quantity(f.duration, field + "duration", Dimension.TIME)
                recover_at = pump.now + timedelta(hours=float(d.to("h").magnitude))
                pump.schedule(recover_at, lambda p: p.recover_motor_stall(), "stall recovery")
                msg += f" for {fmt(d)}"
        elif kind == "motor_stall_recovery":
            pump.recover_motor_stall()
            msg = "motor stall recovered"
        elif kind == "low_battery_reset":
            pump.inject_low_battery_reset()
            msg = "low-battery reset"
        elif kind == "memory_error":
            pump.inject_memory_error()
            msg = "memory error"
        elif kind == "air_in_line":
            _external_only(pump, field + "kind")
            pump.inject_air_in_line()  # type: ignore[attr-defined]
            msg = "air in line"
        elif kind == "air_cleared":
            _external_only(pump, field + "kind")
            pump.clear_air_in_line()  # type: ignore[attr-defined]
            msg = "line primed: air cleared"
        elif kind == "mri":
            assert f.duration is not None
            duration = parse_quantity(f.duration, field + "duration", Dimension.TIME)
            recovery = _opt(f.recovery, field + "recovery", Dimension.TIME)
            try:
                pump.mri_scan(duration, recovery)
            except InputError as exc:
                raise InputError(
                    field + exc.field.split(".")[-1], exc.message, exc.expected
                ) from exc
            msg = f"MRI scan of {fmt(duration)}"
            dumped = pump.plant.left_pump_ml - before
            if dumped > 0:
                self._dump(dumped)
                return
        self.note("fault", msg + cause)

    def _dump(self, dumped_ml: float) -> None:
        """Say what an MRI magnet sent into the patient: the firmware cannot know."""
        fw = self.pump.firmware
        doses = ""
        if fw.program is not None:
            parts = [
                f"{fmt(d.to('mg') if not _micro(d) else d)} {name}"
                for name, d in fw.program.admixture.doses(Q_(dumped_ml, "mL")).items()
            ]
            doses = " (" + ", ".join(parts) + ")"
        self.note(
            "fault",
            f"MRI: the magnet opened both valves; {fmt(Q_(dumped_ml, 'mL'))} left the reservoir "
            f"into the patient{doses}. The pump's estimate does not change.",
            (("dumped", Q_(dumped_ml, "mL")),),
        )

    # -- the whole run ----------------------------------------------------------------------

    def _guarded(self, run: Callable[[], None]) -> Callable[[SimulatedPump], None]:
        def action(_: SimulatedPump) -> None:
            self.sample()
            run()
            self.sample()

        return action

    def run(self) -> ScenarioResult:
        sc, pump = self.sc, self.pump
        capacity = pump.capabilities.reservoir
        fill = parse_quantity(sc.fill.volume, "fill.volume", Dimension.VOLUME).to("mL")
        _check_fill(fill, capacity, "fill.volume")
        pump.fill_reservoir(fill)
        pump.refill(fill)
        self.last_fill = (_ml(fill), sc.start, sc.fill.first_fill)
        self.note("fill", f"reservoir filled with {fmt(fill)}", (("filled", fill),))
        self.set_program(-1, sc.admixture, sc.schedule, sc.patient_bolus, self.threshold)
        self.sample()
        self._schedule_all(capacity)
        t = sc.start
        step = timedelta(hours=self.step_h)
        while t < self.end:
            t = min(t + step, self.end)
            pump.advance(t)
            self.sample()
        return self._result()

    def _schedule_all(self, capacity: pint.Quantity) -> None:
        sc, pump = self.sc, self.pump
        for i, f in enumerate(sc.faults):
            at = self._time(f.at, f"faults[{i}].at")
            if at <= self.end:
                pump.schedule(at, self._guarded(partial(self.run_fault, i, f)), f.kind)
        for i, a in enumerate(sc.actions):
            field = f"actions[{i}]"
            at = self._time(a.at, field + ".at")
            if a.volume is not None and a.kind == "refill":
                v = parse_quantity(a.volume, field + ".volume", Dimension.VOLUME)
                _check_fill(v, capacity, field + ".volume")
            run = partial(self.run_action, i, a)
            for when in self._repeats(a, at, field):
                if a.kind == "patient_bolus":
                    # Frequent and small: no samples of their own (the step sampling covers them).
                    pump.schedule(when, _ignore_pump(run), a.kind)
                else:
                    pump.schedule(when, self._guarded(run), a.kind)

    def _time(self, value: datetime | str, field: str) -> datetime:
        at = _at(value, self.sc.start, field)
        if at < self.sc.start:
            raise InputError(field, f"{at:%Y-%m-%d %H:%M} is before start", "a time after start")
        return at

    def _repeats(self, a: ActionEntry, at: datetime, field: str) -> list[datetime]:
        if a.every is None and a.per_day is None:
            return [at]
        if a.per_day is not None:
            every_h = 24.0 / a.per_day
        else:
            assert a.every is not None
            every_h = float(parse_quantity(a.every, field + ".every", Dimension.TIME).to("h").m)
            if every_h <= 0:
                raise InputError(field + ".every", "must be greater than zero", "e.g. '30 d'")
        last = self.end if a.until is None else min(self._time(a.until, field + ".until"), self.end)
        count = a.count if a.count is not None else math.inf
        out: list[datetime] = []
        k = 0
        while k < count:
            when = at + timedelta(hours=every_h * k)
            if when > last:
                break
            out.append(when)
            k += 1
        return out

    def _result(self) -> ScenarioResult:
        pump = self.pump
        log = _merge(pump, self.scenario_log)
        mL = "mL"
        series = TimeSeries(
            tuple(self.times),
            Q_(np.array(self.cols[0]), mL),
            Q_(np.array(self.cols[1]), mL),
            Q_(np.array(self.cols[2]), mL),
            Q_(np.array(self.cols[3]), mL),
            Q_(np.array(self.cols[4]), mL),
            Q_(self.step_h, "h"),
        )
        return ScenarioResult(
            title=self.sc.title,
            model=self.spec.model,
            serial=pump.serial,
            seed=pump.config.seed,
            flow_bias=pump.plant.flow_bias,
            start=self.sc.start,
            end=self.end,
            log=log,
            reports=tuple(self.reports),
            status=pump.peek(),
            truth=pump.truth(),
            series=series,
            doses_to_csf=tuple(
                (n, _readable(Q_(v, self.dose_units[n]))) for n, v in sorted(self.doses_csf.items())
            ),
            doses_left_pump=tuple(
                (n, _readable(Q_(v, self.dose_units[n])))
                for n, v in sorted(self.doses_left.items())
            ),
            alarm_periods=alarm_periods(log, self.end),
        )


def _ignore_pump(run: Callable[[], None]) -> Callable[[SimulatedPump], None]:
    def action(_: SimulatedPump) -> None:
        run()

    return action


def _merge(pump: SimulatedPump, scenario: list[tuple[int, LogEntry]]) -> tuple[LogEntry, ...]:
    """Device entries in sequence, each scenario entry placed after the device entries that
    existed when it was written (so a cause comes before its effects)."""
    out: list[LogEntry] = []
    pending = iter(scenario)
    nxt = next(pending, None)
    for e in pump.events():
        while nxt is not None and nxt[0] < e.seq:
            out.append(nxt[1])
            nxt = next(pending, None)
        out.append(
            LogEntry(
                e.sim_time,
                "device",
                e.kind.value,
                e.message,
                e.seq,
                e.at,
                e.alarm,
                tuple(e.quantities().items()),
            )
        )
    while nxt is not None:
        out.append(nxt[1])
        nxt = next(pending, None)
    return tuple(out)


def alarm_periods(log: tuple[LogEntry, ...], end: datetime) -> tuple[AlarmPeriod, ...]:
    """Alarm periods from the device log: raised -> cleared (acknowledged and resolved)."""
    open_: dict[AlarmCondition, datetime] = {}
    out: list[AlarmPeriod] = []
    for e in log:
        if e.source != "device" or e.alarm is None:
            continue
        if e.kind == EventKind.ALARM_RAISED.value and e.alarm not in open_:
            open_[e.alarm] = e.time
        elif e.kind == EventKind.ALARM_CLEARED.value and e.alarm in open_:
            out.append(AlarmPeriod(e.alarm, ALARMS[e.alarm].critical, open_.pop(e.alarm), e.time))
    for c, t in open_.items():
        out.append(AlarmPeriod(c, ALARMS[c].critical, t, None))
    return tuple(sorted(out, key=lambda p: (p.start, p.condition)))


def _increased(old: ResolvedPlan, new: ResolvedPlan) -> bool:
    before = daily_dose(old.schedule, old.admixture).nominal
    after = daily_dose(new.schedule, new.admixture).nominal
    return any(name in before and d > before[name] * (1 + 1e-9) for name, d in after.items())


def _patient(p: PatientSpec) -> dict[str, str]:
    out: dict[str, str] = {}
    if p.opioid_naive is not None:
        out["opioid_naive"] = "true" if p.opioid_naive else "false"
    if p.spasticity_origin:
        out["spasticity_origin"] = p.spasticity_origin
    return out


def _readable(dose: pint.Quantity) -> pint.Quantity:
    """A cumulative dose in mcg is shown in mg from 1000 mcg on (913 mg, not 9.13e+05 mcg)."""
    if _micro(dose) and abs(float(dose.magnitude)) >= 1000.0:
        return dose.to("mg")
    return dose


def _micro(q: pint.Quantity) -> bool:
    return {str(n) for n, _ in q.unit_items()} & {"microgram", "mcg"} != set()


def _check_fraction(value: float, field: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise InputError(field, f"got {value * 100:g} %", "a fraction from 0 to 100 %")
    return value


def _check_fill(volume: pint.Quantity, capacity: pint.Quantity, field: str) -> None:
    ml = _ml(volume)
    if ml <= 0 or ml > _ml(capacity) * (1 + 1e-9):
        raise InputError(
            field, f"{fmt(volume)} does not fit", f"more than 0, at most {fmt(capacity)}"
        )


def _external_only(pump: SimulatedPump, field: str) -> None:
    if pump.spec.kind is not PumpKind.EXTERNAL:
        raise InputError(field, f"{pump.spec.model} has no air-in-line sensor", "an external pump")


_DEVICE_FIELDS = {
    "alarms.critical_repeat": "device.critical_alarm_repeat",
    "alarms.noncritical_repeat": "device.noncritical_alarm_repeat",
    "plant.flow_bias": "device.flow_bias",
    "plant.flow_bias_band": "device.flow_bias_band",
    "plant.catheter_volume": "device.catheter_volume",
    "pump.model": "device.model",
    "battery.calibration_flow": "device.battery_calibration_flow",
    "battery.telemetry_cost": "device.battery_telemetry_cost",
}


def _device_error(exc: InputError) -> InputError:
    return InputError(_DEVICE_FIELDS.get(exc.field, exc.field), exc.message, exc.expected)


def scenario_end(scenario: Scenario, until: datetime | pint.Quantity | None = None) -> datetime:
    """The end of the run: ``until`` (a date-time, or a duration after start) or the file's."""
    if until is None:
        return _at(scenario.until, scenario.start, "until")
    if isinstance(until, datetime):
        return until
    q = parse_quantity(until, "until", Dimension.TIME)
    return scenario.start + timedelta(hours=float(q.to("h").magnitude))


def run_scenario(
    scenario: Scenario,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    until: datetime | pint.Quantity | None = None,
    seed: int | None = None,
    step: pint.Quantity | None = None,
) -> ScenarioResult:
    """Run ``scenario`` to ``until`` (a date-time or a duration after start, e.g. ``Q_(2,
    "year")``; default: the file's ``until``). ``seed`` overrides ``device.seed``; ``step`` is
    the largest gap between samples of the time series (default: 1/500 of the run, ≥ 1 h).

    Raises :class:`InputError` naming the scenario field on bad input."""
    end = scenario_end(scenario, until)
    if end <= scenario.start:
        raise InputError("until", f"{end:%Y-%m-%d %H:%M} is not after start", "e.g. '2 y'")
    runner = _Runner(
        scenario,
        library,
        catalog,
        end,
        scenario.device.seed if seed is None else seed,
        step,
    )
    return runner.run()


__all__ = [
    "ActionEntry",
    "ActionReport",
    "AlarmPeriod",
    "DeviceEntry",
    "FaultEntry",
    "InitialFill",
    "LogEntry",
    "Scenario",
    "ScenarioResult",
    "TimeSeries",
    "alarm_periods",
    "run_scenario",
    "scenario_end",
    "scenario_json_schema",
]
