"""The scenario file model (docs/scenario-format.md): pydantic, unknown keys refused.

Faults and actions are discriminated unions on ``kind``: one model per variant, holding only
the keys that kind uses, so a runner gets a typed value and never checks a key by hand. Errors
read as they did when one flat model held every key (see ``scenario_errors``).
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, model_validator

from thecal.implant.scenario_errors import readable_errors
from thecal.therapy.plan_file import (
    Duration,
    FlowRate,
    IngredientEntry,
    PatientBolusEntry,
    PatientSpec,
    ScheduleEntry,
    Volume,
)
from thecal.units import Dimension, InputError, parse_quantity


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


# --- faults: one model per kind ----------------------------------------------------------------

_NOTE = "free text for the log (the cause, e.g. calcification)"
_FRACTION = "occlusion / leak fraction"


class _Fault(_Model):
    at: When
    note: str = Field("", description=_NOTE)


class OcclusionFault(_Fault):
    kind: Literal["occlusion"]
    fraction: Fraction = Field(description=_FRACTION)


class LeakFault(_Fault):
    kind: Literal["leak"]
    fraction: Fraction = Field(description=_FRACTION)


class DisconnectFault(_Fault):
    kind: Literal["disconnect"]


class MigrationFault(_Fault):
    kind: Literal["migration"]


class FractureFault(_Fault):
    kind: Literal["fracture"]
    fraction: Fraction | None = Field(None, description="fraction that leaks (default 100 %)")


class RepairFault(_Fault):
    kind: Literal["repair"]


class MotorStallFault(_Fault):
    kind: Literal["motor_stall"]
    duration: Duration | None = Field(None, description="motor stall length")


class MotorStallRecoveryFault(_Fault):
    kind: Literal["motor_stall_recovery"]


class LowBatteryResetFault(_Fault):
    kind: Literal["low_battery_reset"]


class MemoryErrorFault(_Fault):
    kind: Literal["memory_error"]


class MriFault(_Fault):
    kind: Literal["mri"]
    duration: Duration = Field(description="MRI scan time")
    recovery: Duration | None = Field(None, description="MRI: delay to proper delivery")


class AirInLineFault(_Fault):
    kind: Literal["air_in_line"]


class AirClearedFault(_Fault):
    kind: Literal["air_cleared"]


_FaultUnion = (
    OcclusionFault
    | LeakFault
    | DisconnectFault
    | MigrationFault
    | FractureFault
    | RepairFault
    | MotorStallFault
    | MotorStallRecoveryFault
    | LowBatteryResetFault
    | MemoryErrorFault
    | MriFault
    | AirInLineFault
    | AirClearedFault
)
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

# --- actions: one model per kind ---------------------------------------------------------------


class _Action(_Model):
    at: When
    every: Duration | None = Field(None, description="repeat at this interval")
    until: When | None = Field(None, description="last repeat at or before (default: the end)")
    count: int | None = Field(None, ge=1, description="number of times (with 'every')")
    note: str = ""

    @property
    def repeats_per_day(self) -> int | None:
        """Requests a day (patient boluses only): an alternative to ``every``."""
        return None

    @model_validator(mode="after")
    def _repeat(self) -> "_Action":
        if (self.until is not None or self.count is not None) and (
            self.every is None and self.repeats_per_day is None
        ):
            raise ValueError("'until' and 'count' need 'every' (or 'per_day')")
        return self


class RefillAction(_Action):
    kind: Literal["refill"]
    volume: Volume = Field(description="volume filled")


class ProgramAction(_Action):
    kind: Literal["program"]
    admixture: list[IngredientEntry] | None = Field(None, min_length=1, max_length=4)
    schedule: ScheduleEntry | None = None
    patient_bolus: PatientBolusEntry | None = None
    low_reservoir_alarm: Volume | None = None

    @model_validator(mode="after")
    def _something(self) -> "ProgramAction":
        keys = ("admixture", "low_reservoir_alarm", "patient_bolus", "schedule")
        if all(getattr(self, k) is None for k in keys):
            names = ", ".join(f"'{k}'" for k in keys)
            raise ValueError("kind = 'program' needs at least one of " + names)
        return self


class PatientBolusAction(_Action):
    kind: Literal["patient_bolus"]
    per_day: int | None = Field(None, ge=1, description="patient bolus requests a day")

    @property
    def repeats_per_day(self) -> int | None:
        return self.per_day

    @model_validator(mode="after")
    def _one_interval(self) -> "PatientBolusAction":
        if self.per_day is not None and self.every is not None:
            raise ValueError("give 'per_day' or 'every', not both")
        return self


class ClinicianBolusAction(_Action):
    kind: Literal["clinician_bolus"]
    volume: Volume = Field(description="bolus volume")
    duration: Duration = Field(description="clinician bolus duration")


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


class AcknowledgeAction(_Action):
    kind: Literal["acknowledge"]
    alarm: AlarmName | None = Field(None, description="acknowledge one alarm (default: all)")


class InterrogateAction(_Action):
    kind: Literal["interrogate"]


class PostMriResumeAction(_Action):
    kind: Literal["post_mri_resume"]


class EmptyReservoirAction(_Action):
    kind: Literal["empty_reservoir"]


class StopAction(_Action):
    kind: Literal["stop"]


class ResumeAction(_Action):
    kind: Literal["resume"]


class AlarmTestAction(_Action):
    kind: Literal["alarm_test"]


_ActionUnion = (
    RefillAction
    | ProgramAction
    | PatientBolusAction
    | ClinicianBolusAction
    | AcknowledgeAction
    | InterrogateAction
    | PostMriResumeAction
    | EmptyReservoirAction
    | StopAction
    | ResumeAction
    | AlarmTestAction
)
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

# Every key some kind uses, in the documented order: the "unknown key" hint lists them all.
_FAULT_KEYS = ("kind", "at", "fraction", "duration", "recovery", "note")
_ACTION_KEYS: tuple[str, ...] = (
    "kind",
    "at",
    "every",
    "until",
    "count",
    "volume",
    "duration",
    "admixture",
    "schedule",
    "patient_bolus",
    "low_reservoir_alarm",
    "per_day",
    "alarm",
    "note",
)

FaultEntry = Annotated[
    Annotated[_FaultUnion, Field(discriminator="kind")],
    readable_errors(_FaultUnion, "FaultEntry", _FAULT_KEYS),
]
ActionEntry = Annotated[
    Annotated[_ActionUnion, Field(discriminator="kind")],
    readable_errors(_ActionUnion, "ActionEntry", _ACTION_KEYS),
]
Fault = _FaultUnion
Action = _ActionUnion


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
