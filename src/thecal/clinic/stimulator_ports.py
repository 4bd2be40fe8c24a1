"""What the clinic needs from storage for stimulators (part of
:class:`thecal.clinic.ports.ClinicRepository`). Every ``*_for`` read is oldest first."""

from collections.abc import Sequence
from typing import Protocol

from thecal.clinic.stimulator_model import (
    BatteryReading,
    ImpedanceSet,
    StimLead,
    StimProgramVersion,
)


class StimulatorRecords(Protocol):
    def add_stim_lead(self, lead: StimLead) -> None: ...
    # The leads of a stimulator, by (implanted_on, name).
    def stim_leads_for(self, device_id: str) -> Sequence[StimLead]: ...
    def add_stim_program(self, program: StimProgramVersion) -> None: ...
    # A stimulator's program versions by version.
    def stim_programs_for(self, device_id: str) -> Sequence[StimProgramVersion]: ...
    def add_impedance_set(self, measurement: ImpedanceSet) -> None: ...
    # A stimulator's impedance sets by (at, id).
    def impedance_sets_for(self, device_id: str) -> Sequence[ImpedanceSet]: ...
    def add_battery_reading(self, reading: BatteryReading) -> None: ...
    # A stimulator's battery readings by (at, id).
    def battery_readings_for(self, device_id: str) -> Sequence[BatteryReading]: ...
