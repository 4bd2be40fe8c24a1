"""The drug pump family: its capabilities, program, status and commands.

A :class:`DrugPump` is an :class:`~thecal.devices.implant_device.ImplantDevice` that also takes
programs, refills and boluses. Everything here is data and protocols: no I/O, no clock.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

import pint

from thecal.devices.alarms import AlarmState
from thecal.devices.identity import BatteryState, DeviceFamily
from thecal.devices.implant_device import ImplantDevice
from thecal.devices.refusals import CommandResult
from thecal.devices.states import DeliveryState, Hold, delivery_state
from thecal.therapy.admixture import Admixture
from thecal.therapy.pump import PumpKind
from thecal.therapy.schedule import PatientBolus, Schedule

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
class DrugPumpCapabilities:
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

    @property
    def family(self) -> DeviceFamily:
        return DeviceFamily.DRUG_PUMP


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


# --- status ----------------------------------------------------------------------------------


class BolusState(StrEnum):
    """Which boluses are running now (a clinician bolus and a patient bolus can overlap)."""

    NONE = "none"
    CLINICIAN = "clinician bolus running"
    PATIENT = "patient bolus running"
    CLINICIAN_AND_PATIENT = "clinician and patient boluses running"


def bolus_state(clinician: bool, patient: bool) -> BolusState:
    """The state for a running clinician and/or patient bolus."""
    if clinician and patient:
        return BolusState.CLINICIAN_AND_PATIENT
    if clinician:
        return BolusState.CLINICIAN
    return BolusState.PATIENT if patient else BolusState.NONE


@dataclass(frozen=True)
class DeviceStatus:
    """What a drug pump's interrogation returns: the firmware's view (never the plant's truth,
    never the simulation's time). ``holds`` are in :func:`~thecal.devices.states.sorted_holds`
    order; ``delivery`` and ``delivering`` are derived from them."""

    serial: str
    model: str
    device_time: datetime
    holds: tuple[Hold, ...]
    bolus: BolusState
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
    def delivery(self) -> DeliveryState:
        return delivery_state(self.holds)

    @property
    def delivering(self) -> bool:
        return not self.holds

    @property
    def battery(self) -> BatteryState:
        if Hold.EOS in self.holds:
            return BatteryState.END_OF_SERVICE
        return BatteryState.OK if self.eri_at is None else BatteryState.ELECTIVE_REPLACEMENT

    @property
    def shown_alarm(self) -> AlarmState | None:
        """The alarm the device shows: the highest-priority active one."""
        return self.alarms[0] if self.alarms else None


@runtime_checkable
class DrugPump(ImplantDevice, Protocol):
    """Every pump (three simulated kinds, and any real driver) answers these commands besides
    the common ones. All volumes and durations are pint quantities."""

    @property
    def capabilities(self) -> DrugPumpCapabilities: ...

    def interrogate(self) -> DeviceStatus: ...

    def write_program(self, program: Program) -> CommandResult: ...

    def refill(self, volume: pint.Quantity) -> CommandResult: ...

    def clinician_bolus(self, volume: pint.Quantity, duration: pint.Quantity) -> CommandResult: ...

    def patient_bolus_request(self) -> CommandResult: ...

    def post_mri_resume(self) -> CommandResult: ...


__all__ = [
    "BolusState",
    "DeviceStatus",
    "DrugPump",
    "DrugPumpCapabilities",
    "Mode",
    "Program",
    "bolus_state",
]
