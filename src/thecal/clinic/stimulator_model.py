"""The clinic's stimulator records: leads, program versions, impedance sets and battery
readings. Frozen dataclasses, no database in sight (as :mod:`thecal.clinic.model`).

A stimulator itself is a :class:`~thecal.clinic.model.Device` of kind ``STIMULATOR`` whose
``model`` names an IPG of the stimulator catalog; these records hang off its device id.
Impedances are in ohm, voltages in volt, percentages as a share (0..1), all pint quantities.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

import pint

from thecal.clinic.model import StoredFinding, new_id
from thecal.stimulation.program_file import StimulationFile


@dataclass(frozen=True)
class StimLead:
    """A lead connected to the stimulator ``device_id``: catalog ``model``, its ``name`` in
    the programs (e.g. "L1"), implant date and where it lies (free text: "T8-T10, left")."""

    patient_id: str
    device_id: str
    name: str
    model: str
    implanted_on: date
    position: str = ""
    removed_on: date | None = None
    id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class StimProgramVersion:
    """One version of a stimulator's program: the program file DTO as JSON, numbered 1, 2, …
    per stimulator, with who wrote it, why, the gate's findings and each soft one's reason."""

    patient_id: str
    device_id: str
    version: int
    program_json: str
    author: str
    reason: str
    created_at: datetime
    findings: tuple[StoredFinding, ...] = ()
    overrides: tuple[tuple[str, str], ...] = ()
    id: str = field(default_factory=new_id)

    def program(self) -> StimulationFile:
        return StimulationFile.model_validate_json(self.program_json)


class MeasurementSource(StrEnum):
    INTERROGATION = "interrogation"  # read from the IPG by the programmer
    MANUAL = "manual"  # typed in from a vendor programmer's printout


@dataclass(frozen=True)
class ContactImpedance:
    """One contact's impedance (ohm); ``contact`` is its label, e.g. "L1:3".

    ``open_circuit``: the IPG (or the printout) reported the path as open — above the range it
    can measure. Then ``impedance`` is what was reported beside it (an IPG gives its window's
    top) or None: it is not a measurement and never enters a mean."""

    contact: str
    impedance: pint.Quantity | None
    open_circuit: bool = False


@dataclass(frozen=True)
class ImpedanceSet:
    """The impedances of a stimulator's contacts measured at one time."""

    patient_id: str
    device_id: str
    at: datetime
    source: MeasurementSource
    values: tuple[ContactImpedance, ...]
    by: str = ""
    id: str = field(default_factory=new_id)


@dataclass(frozen=True)
class BatteryReading:
    """A battery reading: the cell voltage and/or the percentage the IPG reports, and for a
    rechargeable IPG whether this reading ends a recharge session (and how long it took)."""

    patient_id: str
    device_id: str
    at: datetime
    source: MeasurementSource
    voltage: pint.Quantity | None = None
    percent: pint.Quantity | None = None
    recharge: bool = False
    recharge_duration: pint.Quantity | None = None
    by: str = ""
    id: str = field(default_factory=new_id)
