"""The device protocol: what a programmer can ask of any pump, real or simulated.

Patterns (open insulin-pump projects): a device sits behind a protocol with *capabilities*
(LoopKit ``PumpManager``, AndroidAPS ``Pump``); every command returns a result that says whether
it was *processed* and whether the device *state changed*; the device keeps an append-only,
sequence-numbered event log keyed by its serial, so a replaced device never merges into the old
one's history. The alarm conditions live here because every implementation reports them.

Everything here is data: no I/O, no clock. Times are naive device-local datetimes passed in.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Protocol, runtime_checkable

import pint

from thecal.therapy.admixture import Admixture
from thecal.therapy.delivery import at_hours
from thecal.therapy.findings import Finding
from thecal.therapy.pump import PumpKind
from thecal.therapy.schedule import PatientBolus, Schedule
from thecal.units import Q_

# --- capabilities ----------------------------------------------------------------------------


class Mode(StrEnum):
    """Delivery modes a device may support (SynchroMed II patient pages; Curlin 4000 manual)."""

    CONTINUOUS = "continuous"
    FLEX = "flex"
    PERIODIC_BOLUS = "periodic bolus"
    SINGLE_BOLUS = "single bolus"
    PATIENT_BOLUS = "patient bolus"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Capabilities:
    """What a device can do. ``None`` = not public / not applicable (see ``sources``).

    ``stroke_volume`` is the discrete volume moved per motor stroke / valve actuation / delivery
    quantum (mL); ``reservoir`` is the reservoir capacity (implants) or the bag volume (external).
    """

    model: str
    kind: PumpKind
    implanted: bool
    reservoir: pint.Quantity
    stroke_volume: pint.Quantity
    min_rate: pint.Quantity | None
    max_rate: pint.Quantity | None
    rate_resolution: pint.Quantity | None
    max_steps_per_day: int | None
    modes: frozenset[Mode]
    detects_occlusion: bool
    detects_air: bool
    sources: tuple[tuple[str, str], ...] = ()


# --- program ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    """What the firmware runs: a therapy-core schedule (volumes), the reservoir contents, an
    optional patient-activated bolus, and the low-reservoir alarm threshold (volume, never 0)."""

    schedule: Schedule
    admixture: Admixture
    low_reservoir_threshold: pint.Quantity
    patient_bolus: PatientBolus | None = None

    def modes(self) -> frozenset[Mode]:
        """The modes this program needs from the device."""
        out = {Mode.CONTINUOUS if self.schedule.basal.is_continuous else Mode.FLEX}
        if self.schedule.periodic:
            out.add(Mode.PERIODIC_BOLUS)
        if self.schedule.single:
            out.add(Mode.SINGLE_BOLUS)
        if self.patient_bolus is not None:
            out.add(Mode.PATIENT_BOLUS)
        return frozenset(out)


# --- alarms ----------------------------------------------------------------------------------


class AlarmCondition(IntEnum):
    """Numbered alarm conditions. Numbers are stable (records refer to them)."""

    EMPTY_RESERVOIR = 1
    MOTOR_STALL = 2
    END_OF_SERVICE = 3
    LOW_BATTERY_RESET = 4
    MEMORY_ERROR = 5
    OCCLUSION = 6
    AIR_IN_LINE = 7
    LOW_RESERVOIR = 8
    ELECTIVE_REPLACEMENT = 9


class AlarmPriority(IntEnum):
    """FDA/UPenn Generic PCA pump reference model levels (Arney et al., UPenn MS-CIS-08-31,
    2009): 4 = empty reservoir and hardware
    errors; 3 = occlusion / over-infusion; 2 = low reservoir; 1 = warnings."""

    WARNING = 1
    LOW_RESERVOIR = 2
    HIGH = 3
    CRITICAL = 4


@dataclass(frozen=True)
class AlarmSpec:
    condition: AlarmCondition
    priority: AlarmPriority
    critical: bool  # critical (two-tone) vs non-critical (one-tone) audible class
    description: str


ALARMS: Mapping[AlarmCondition, AlarmSpec] = {
    a.condition: a
    for a in (
        AlarmSpec(
            AlarmCondition.EMPTY_RESERVOIR,
            AlarmPriority.CRITICAL,
            True,
            "Reservoir empty (firmware estimate below one stroke): refill now.",
        ),
        AlarmSpec(
            AlarmCondition.MOTOR_STALL,
            AlarmPriority.CRITICAL,
            True,
            "Motor stall: no drug is being delivered.",
        ),
        AlarmSpec(
            AlarmCondition.END_OF_SERVICE,
            AlarmPriority.CRITICAL,
            True,
            "End of service: the pump has stopped for good; replace it.",
        ),
        AlarmSpec(
            AlarmCondition.LOW_BATTERY_RESET,
            AlarmPriority.CRITICAL,
            True,
            "Low-battery reset: the flow was reset to a very low level; reprogram and replace.",
        ),
        AlarmSpec(
            AlarmCondition.MEMORY_ERROR,
            AlarmPriority.CRITICAL,
            True,
            "Memory error: delivery stopped; the program must be written again.",
        ),
        AlarmSpec(
            AlarmCondition.OCCLUSION,
            AlarmPriority.HIGH,
            True,
            "Downstream occlusion detected: delivery stopped.",
        ),
        AlarmSpec(
            AlarmCondition.AIR_IN_LINE,
            AlarmPriority.HIGH,
            True,
            "Air in line detected: delivery stopped.",
        ),
        AlarmSpec(
            AlarmCondition.LOW_RESERVOIR,
            AlarmPriority.LOW_RESERVOIR,
            False,
            "Low reservoir: refill soon.",
        ),
        AlarmSpec(
            AlarmCondition.ELECTIVE_REPLACEMENT,
            AlarmPriority.WARNING,
            False,
            "Elective replacement indicator: plan replacement; the pump stops within the "
            "labelled time after this alarm.",
        ),
    )
}


@dataclass(frozen=True)
class Tone:
    """An audible alarm pattern as data: ``count`` tones over ``duration`` (catalog, sourced)."""

    count: int
    duration: pint.Quantity
    source: str


@dataclass(frozen=True)
class AlarmState:
    """One active alarm as the device reports it."""

    condition: AlarmCondition
    priority: AlarmPriority
    critical: bool
    raised_at: datetime
    acknowledged: bool
    resolved: bool
    repeats: int
    tone: Tone | None  # None: the device's tone is not public


# --- log -------------------------------------------------------------------------------------


class EventKind(StrEnum):
    PROVISIONED = "provisioned"
    PROGRAM_WRITTEN = "program written"
    PROGRAM_REFUSED = "program refused"
    BOLUS_START = "bolus start"
    BOLUS_END = "bolus end"
    BOLUS_REFUSED = "bolus refused"
    PTB_GRANTED = "patient bolus granted"
    PTB_DENIED = "patient bolus denied"
    REFILL = "refill recorded"
    REFILL_REFUSED = "refill refused"
    ALARM_RAISED = "alarm raised"
    ALARM_REPEATED = "alarm repeated"
    ALARM_ACKNOWLEDGED = "alarm acknowledged"
    ALARM_RESOLVED = "alarm condition resolved"
    ALARM_CLEARED = "alarm cleared"
    ALARM_TEST = "alarm test"
    MOTOR_STALL = "motor stall"
    MOTOR_STALL_RECOVERY = "motor stall recovery"
    MRI_DETECTED = "MRI detected"
    MRI_RECOVERED = "MRI recovery"
    POST_MRI_HOLD = "waiting for post-MRI interrogation"
    POST_MRI_RESUME = "post-MRI resume"
    RESET = "reset"
    MEMORY_ERROR = "memory error"
    ERI = "elective replacement indicator"
    EOS = "end of service"
    PUMP_STOPPED = "pump stopped"
    PUMP_RESUMED = "pump resumed"
    DELIVERY_PAUSED = "delivery paused"
    DELIVERY_RESUMED = "delivery resumed"
    CLOCK_SET = "clock set"


@dataclass(frozen=True)
class LogEvent:
    """One entry of the append-only device log. ``seq`` starts at 1 and never repeats for a
    ``serial``. Times are float hours since ``thecal.therapy.delivery.EPOCH`` internally (cheap
    to store in 7-year runs); read them as datetimes through the properties. ``values`` holds
    ``(name, magnitude, unit)``; read them as quantities with :meth:`quantity`."""

    serial: str
    seq: int
    kind: EventKind
    sim_hours: float
    device_hours: float
    message: str = ""
    values: tuple[tuple[str, float, str], ...] = ()
    alarm: AlarmCondition | None = None

    @property
    def at(self) -> datetime:
        """Device clock time of the entry."""
        return at_hours(self.device_hours)

    @property
    def sim_time(self) -> datetime:
        """True (simulation) time of the entry."""
        return at_hours(self.sim_hours)

    def quantity(self, name: str) -> pint.Quantity:
        for key, magnitude, unit in self.values:
            if key == name:
                return Q_(magnitude, unit)
        raise KeyError(name)

    def quantities(self) -> dict[str, pint.Quantity]:
        return {k: Q_(m, u) for k, m, u in self.values}


# --- commands and status ---------------------------------------------------------------------


@dataclass(frozen=True)
class CommandResult:
    """``processed``: the device received and handled the command (a refusal is processed);
    ``state_changed``: the device's state actually changed. A refused command has
    ``processed=True, state_changed=False`` and says why in ``reason`` and ``findings``."""

    command: str
    processed: bool
    state_changed: bool
    reason: str = ""
    findings: tuple[Finding, ...] = ()
    values: tuple[tuple[str, pint.Quantity], ...] = ()
    tones: tuple[Tone, ...] = ()

    def value(self, name: str) -> pint.Quantity:
        return dict(self.values)[name]


@dataclass(frozen=True)
class DeviceStatus:
    """What an interrogation returns: the firmware's view (never the plant's truth)."""

    serial: str
    model: str
    device_time: datetime
    sim_time: datetime
    delivering: bool
    holds: tuple[str, ...]
    program: Program | None
    reservoir_estimate: pint.Quantity
    low_reservoir_threshold: pint.Quantity | None
    delivered_total: pint.Quantity
    alarms: tuple[AlarmState, ...]  # highest priority first; none dropped
    eri_at: datetime | None
    eos_at: datetime | None
    patient_boluses_last_24h: int
    last_seq: int

    @property
    def shown_alarm(self) -> AlarmState | None:
        """The alarm the device shows: the highest-priority active one."""
        return self.alarms[0] if self.alarms else None


@runtime_checkable
class ImplantDevice(Protocol):
    """Every pump (three simulated kinds, and any real driver) answers these commands.

    All volumes and durations are pint quantities; times are naive datetimes. ``advance``
    moves simulated time (a real driver would treat it as "wait until")."""

    @property
    def serial(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def now(self) -> datetime: ...

    def interrogate(self) -> DeviceStatus: ...

    def events(self, since_seq: int = 0) -> tuple[LogEvent, ...]: ...

    def write_program(self, program: Program) -> CommandResult: ...

    def refill(self, volume: pint.Quantity) -> CommandResult: ...

    def clinician_bolus(self, volume: pint.Quantity, duration: pint.Quantity) -> CommandResult: ...

    def patient_bolus_request(self) -> CommandResult: ...

    def acknowledge_alarm(self, condition: AlarmCondition | None = None) -> CommandResult: ...

    def alarm_test(self) -> CommandResult: ...

    def read_clock(self) -> datetime: ...

    def set_clock(self, device_time: datetime) -> CommandResult: ...

    def stop(self) -> CommandResult: ...

    def resume(self) -> CommandResult: ...

    def post_mri_resume(self) -> CommandResult: ...

    def advance(self, until: datetime) -> None: ...


__all__ = [
    "ALARMS",
    "AlarmCondition",
    "AlarmPriority",
    "AlarmSpec",
    "AlarmState",
    "Capabilities",
    "CommandResult",
    "DeviceStatus",
    "EventKind",
    "ImplantDevice",
    "LogEvent",
    "Mode",
    "Program",
    "Tone",
]
