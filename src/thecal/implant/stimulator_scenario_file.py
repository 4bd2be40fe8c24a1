"""The stimulator scenario file (TOML; docs/implant.md "The virtual IPG"): pydantic, unknown keys
refused. The IPG and leads are written as in a stimulation program file
(:mod:`thecal.stimulation.program_file`), groups hold that file's areas, and ``[[events]]`` are
the clinical actions, patient actions and faults, discriminated on ``kind``, each optionally
repeated ``every`` so often until ``until``.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from thecal.implant.scenario_file import When
from thecal.stimulation.program_file import (
    Amplitude,
    AreaEntry,
    Duration,
    Impedance,
    IpgEntry,
    LeadEntry,
    Power,
    Voltage,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StimDevice(_Model):
    """The virtual IPG's inputs the catalog lacks (not public: required here)."""

    serial: str = "SIM-IPG-0001"
    critical_alarm_repeat: Duration = Field(description="not public for any IPG: required")
    noncritical_alarm_repeat: Duration = Field(description="not public for any IPG: required")
    mri_labelling: str = Field(
        "none", description="a [[mri]] entry's name in stimulators.toml ('none': no MRI mode)"
    )
    impedance_min: Impedance | None = Field(None, description="bottom of the measurable range")
    impedance_max: Impedance | None = Field(None, description="top of the measurable range")
    short_threshold: Impedance | None = Field(None, description="below it: a short")


class StimBattery(_Model):
    """The cell's reading curve (a straight line: not public) and its thresholds."""

    full_voltage: Voltage
    empty_voltage: Voltage
    eri_voltage: Voltage | None = Field(None, description="if the catalog has none")
    eos_voltage: Voltage | None = Field(None, description="if the catalog has none")
    low_readings: int | None = Field(None, ge=1, description="if the catalog has none")
    check_interval: Duration = Field(description="how often the firmware reads the cell")
    charge_power: Power | None = Field(None, description="rechargeable: power into the cell")


class StimPlant(_Model):
    """True impedances at start (illustrative: no study gives SCS values) and their drift."""

    contact_impedance: Impedance
    case_impedance: Impedance
    rise_per_year: Impedance = "0 Ohm"
    case_rise_per_year: Impedance = "0 Ohm"


class Group(_Model):
    name: str
    areas: list[AreaEntry] = Field(min_length=1, max_length=4)


class _Event(_Model):
    at: When
    every: Duration | None = Field(None, description="repeat this often (with 'until')")
    until: When | None = None


class ImpedanceTest(_Event):
    kind: Literal["impedance_test"]


class WriteGroup(_Event):
    kind: Literal["write_group"]
    group: str


class SelectGroup(_Event):
    kind: Literal["select_group"]
    group: str
    patient: bool = False


class SetAmplitude(_Event):
    kind: Literal["amplitude"]
    area: str
    amplitude: Amplitude
    patient: bool = False


class Stimulation(_Event):
    kind: Literal["stimulation_on", "stimulation_off"]
    patient: bool = False


class MriMode(_Event):
    kind: Literal["mri_mode_on", "mri_mode_off", "mri_scan", "acknowledge", "interrogate"]


class Charge(_Event):
    kind: Literal["charge"]
    duration: Duration


class ContactFault(_Event):
    kind: Literal["fracture", "short"]
    contact: str = Field(description="e.g. 'L1:3'")
    impedance: Impedance = Field(description="the faulty contact's true impedance")


class Repair(_Event):
    kind: Literal["repair"]
    contact: str


class Migration(_Event):
    kind: Literal["migration"]
    lead: str


class Relocation(_Event):
    kind: Literal["relocate_ipg"]
    case_impedance: Impedance
    case_rise_per_year: Impedance = "0 Ohm"


Event = Annotated[
    ImpedanceTest
    | WriteGroup
    | SelectGroup
    | SetAmplitude
    | Stimulation
    | MriMode
    | Charge
    | ContactFault
    | Repair
    | Migration
    | Relocation,
    Field(discriminator="kind"),
]


class StimulatorScenario(_Model):
    """A virtual IPG, its leads, groups and plant, and what happens to it."""

    title: str = ""
    start: datetime
    until: When
    device: StimDevice
    battery: StimBattery
    ipg: IpgEntry
    leads: list[LeadEntry] = Field(min_length=1)
    plant: StimPlant
    groups: list[Group] = Field(min_length=1)
    events: list[Event] = []
