"""The spinal cord stimulator family: its capabilities, status and commands.

A :class:`SpinalCordStimulator` is an :class:`~thecal.devices.implant_device.ImplantDevice`
that also takes groups of stimulation programs (:class:`thecal.stimulation.program.Program`),
lets the patient change amplitude and group within the clinician's bounds, measures the
impedance of every contact, has an MRI mode and, when rechargeable, charge sessions.
Everything here is data and protocols: no I/O, no clock.

Patterns: groups A-D and patient changes only within clinician limits (OpenMind research apps,
openmind-consortium/App-SCBS-PatientFacingApp); impedance on every stimulation contact, the
amplitude clamp after an impedance test and debounced ERI/EOS (OpenNerve IPG firmware,
CARSSCenter/OpenNerve-Implantable-Pulse-Generator).
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
from thecal.devices.states import DeliveryState
from thecal.stimulation.catalog import BatteryKind
from thecal.stimulation.program import Program


@dataclass(frozen=True)
class StimulatorCapabilities:
    """What the IPG can do. ``None``: not public (see ``sources``). ``available_voltage`` is
    the most the output stage can drive; ``impedance_min``/``impedance_max`` the window the
    IPG can measure; ``short_threshold`` the reading below which a contact counts as shorted."""

    model: str
    battery: BatteryKind
    contacts: int
    available_voltage: pint.Quantity
    amplitude_step: pint.Quantity | None
    impedance_min: pint.Quantity
    impedance_max: pint.Quantity
    short_threshold: pint.Quantity
    mri_mode: bool
    sources: tuple[tuple[str, str], ...] = ()

    @property
    def family(self) -> DeviceFamily:
        return DeviceFamily.SPINAL_CORD_STIMULATOR


class TherapyState(StrEnum):
    """What the stimulator is doing; the most serious reason first when several hold."""

    STIMULATING = "stimulating"
    END_OF_SERVICE = "end of service"  # primary cell exhausted: stopped for good
    BATTERY_DEPLETED = "battery depleted"  # rechargeable: stopped until recharged
    MRI_MODE = "MRI mode"
    LEAD_FAULT = "every area off: lead fault"  # open or short on every area
    NO_PROGRAM = "no program"
    OFF_BY_CLINICIAN = "off by clinician"
    OFF_BY_PATIENT = "off by patient"


_DELIVERY = {
    TherapyState.STIMULATING: DeliveryState.DELIVERING,
    TherapyState.END_OF_SERVICE: DeliveryState.END_OF_SERVICE,
    TherapyState.BATTERY_DEPLETED: DeliveryState.SUSPENDED_BY_ALARM,
    TherapyState.MRI_MODE: DeliveryState.STOPPED_FOR_MRI,
    TherapyState.LEAD_FAULT: DeliveryState.SUSPENDED_BY_ALARM,
    TherapyState.NO_PROGRAM: DeliveryState.NO_PROGRAM,
    TherapyState.OFF_BY_CLINICIAN: DeliveryState.STOPPED_BY_CLINICIAN,
    TherapyState.OFF_BY_PATIENT: DeliveryState.STOPPED_BY_PATIENT,
}


class ReadingFlag(StrEnum):
    """How an impedance reading relates to the window the IPG can measure."""

    IN_RANGE = "in range"
    BELOW_WINDOW = "below the measurable range"  # reported as the window's bottom
    ABOVE_WINDOW = "above the measurable range"  # open circuit; reported as the window's top
    SHORT = "short"  # in the window but below the short threshold


@dataclass(frozen=True)
class ImpedanceReading:
    """One measured path: ``label`` is ``L1:3`` (monopolar, to the case), ``L1:2-L1:3``
    (bipolar, adjacent contacts) or an area's name (its therapy configuration)."""

    label: str
    kind: str  # "monopolar", "bipolar" or "area"
    impedance: pint.Quantity  # clipped to the measurable window
    flag: ReadingFlag


@dataclass(frozen=True)
class ImpedanceReport:
    """Every reading of one impedance test, at device time ``at``."""

    at: datetime
    readings: tuple[ImpedanceReading, ...]

    def get(self, label: str) -> ImpedanceReading:
        for r in self.readings:
            if r.label == label:
                return r
        raise KeyError(label)


@dataclass(frozen=True)
class StimulatorStatus:
    """What a stimulator's interrogation returns: the firmware's view, never the plant's truth.
    ``amplitudes`` are the running amplitudes per area (after the patient's changes and the
    clamp); ``safe_max`` the firmware's safe maximum per area (None: not yet measured)."""

    serial: str
    model: str
    device_time: datetime
    therapy: TherapyState
    group: str | None
    groups: tuple[str, ...]
    program: Program | None
    amplitudes: tuple[tuple[str, pint.Quantity], ...]
    safe_max: tuple[tuple[str, pint.Quantity | None], ...]
    disabled_contacts: tuple[str, ...]
    battery_kind: BatteryKind
    battery_voltage: pint.Quantity  # the last reading
    battery_state: BatteryState
    depleted: bool
    last_impedance: ImpedanceReport | None
    alarms: tuple[AlarmState, ...]
    eri_at: datetime | None
    eos_at: datetime | None
    last_seq: int

    @property
    def delivery(self) -> DeliveryState:
        return _DELIVERY[self.therapy]

    @property
    def battery(self) -> BatteryState:
        return self.battery_state

    @property
    def stimulating(self) -> bool:
        return self.therapy is TherapyState.STIMULATING


@runtime_checkable
class SpinalCordStimulator(ImplantDevice, Protocol):
    """Every stimulator (simulated or a real driver) answers these besides the common commands.
    Amplitudes and durations are pint quantities; ``area`` is an area's name in the group."""

    @property
    def capabilities(self) -> StimulatorCapabilities: ...

    def interrogate(self) -> StimulatorStatus: ...

    def write_group(self, name: str, program: Program) -> CommandResult: ...

    def select_group(self, name: str, *, patient: bool = False) -> CommandResult: ...

    def set_amplitude(
        self, area: str, amplitude: pint.Quantity, *, patient: bool = False
    ) -> CommandResult: ...

    def impedance_test(self) -> tuple[ImpedanceReport | None, CommandResult]: ...

    def stimulation_on(self, *, patient: bool = False) -> CommandResult: ...

    def stimulation_off(self, *, patient: bool = False) -> CommandResult: ...

    def mri_mode(self, on: bool) -> CommandResult: ...

    def charge(self, duration: pint.Quantity) -> CommandResult: ...


__all__ = [
    "ImpedanceReading",
    "ImpedanceReport",
    "ReadingFlag",
    "SpinalCordStimulator",
    "StimulatorCapabilities",
    "StimulatorStatus",
    "TherapyState",
]
