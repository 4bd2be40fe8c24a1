"""One patient's clinic record as the FHIR export reads it, in one read transaction, and the
small value helpers every FHIR builder shares (ids, references, times, UCUM quantities)."""

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

import pint

from thecal.clinic.model import (
    Alarm,
    Complication,
    Device,
    Interrogation,
    Patient,
    PrescriptionVersion,
    Procedure,
    ProgramChange,
    RefillRecord,
)
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.registration import DeviceDetails, PatientDetails
from thecal.clinic.stimulator_model import BatteryReading, ImpedanceSet, StimLead
from thecal.interop.fhir_codes import UCUM
from thecal.units import to_ucum

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR R4 id datatype


@dataclass(frozen=True)
class PatientData:
    """Everything the export writes of one patient, read in one transaction."""

    patient: Patient
    details: PatientDetails | None
    devices: tuple[Device, ...]
    device_details: Mapping[str, DeviceDetails]
    leads: tuple[StimLead, ...]
    procedures: tuple[Procedure, ...]
    prescriptions: tuple[PrescriptionVersion, ...]
    refills: tuple[RefillRecord, ...]
    program_changes: tuple[ProgramChange, ...]
    interrogations: tuple[Interrogation, ...]
    alarms: tuple[Alarm, ...]
    complications: tuple[Complication, ...]
    impedance_sets: tuple[ImpedanceSet, ...]
    battery_readings: tuple[BatteryReading, ...]


def read_patient(repo: ClinicRepository, patient_id: str) -> PatientData:
    """The record of ``patient_id`` (NotFoundError when there is no such patient)."""
    patient = repo.get_patient(patient_id)
    devices = tuple(repo.devices_for(patient_id))
    details = {d.id: x for d in devices if (x := repo.device_details(d.id)) is not None}
    stimulators = [d for d in devices if d.kind.value == "stimulator"]
    leads: list[StimLead] = []
    impedances: list[ImpedanceSet] = []
    batteries: list[BatteryReading] = []
    for s in stimulators:
        leads += repo.stim_leads_for(s.id)
        impedances += repo.impedance_sets_for(s.id)
        batteries += repo.battery_readings_for(s.id)
    return PatientData(
        patient, repo.patient_details(patient_id), devices, details, tuple(leads),
        tuple(repo.procedures_for(patient_id)), tuple(repo.prescriptions_for(patient_id)),
        tuple(repo.refills_for(patient_id)), tuple(repo.program_changes_for(patient_id)),
        tuple(repo.interrogations_for(patient_id)), tuple(repo.alarms_for(patient_id)),
        tuple(repo.complications_for(patient_id)), tuple(impedances), tuple(batteries),
    )  # fmt: skip


def fid(*parts: str) -> str:
    """A FHIR id from Thecal ids (joined by "-"); a digest when the result would not be one
    (too long or other characters), so every id stays stable for the same record."""
    joined = "-".join(parts)
    if _ID.match(joined):
        return joined
    return hashlib.sha256(joined.encode()).hexdigest()[:40]


def ref(resource_type: str, *parts: str) -> dict[str, str]:
    """A reference to a resource in the same Bundle."""
    return {"reference": f"{resource_type}/{fid(*parts)}"}


Stamp = Callable[[datetime], str]


def stamp_in(zone: tzinfo | None) -> Stamp:
    """Clinic times are local and naive; FHIR requires a zone on a dateTime with a time. With
    ``zone`` the local time is taken in that zone (daylight saving applied per instant), None:
    in the machine's own zone (an adapter may read it)."""

    def stamp(at: datetime) -> str:
        aware = at.replace(tzinfo=zone) if zone is not None else at.astimezone()
        return aware.isoformat()

    return stamp


def day(d: date) -> str:
    return d.isoformat()


def quantity(q: pint.Quantity, unit: str | None = None) -> dict[str, Any]:
    """A FHIR Quantity with its UCUM code (``unit`` converts first, a pint unit string)."""
    q = q.to(unit) if unit else q
    code = to_ucum(q)
    return {"value": _number(float(q.magnitude)), "unit": code, "system": UCUM, "code": code}


def _number(x: float) -> float | int:
    # 12 significant digits: stable JSON across float noise from unit conversion.
    rounded = float(f"{x:.12g}")
    return int(rounded) if rounded.is_integer() else rounded


def per(q: pint.Quantity) -> dict[str, Any]:
    """A FHIR Ratio of a rate or a concentration: ``1.5 mg/d`` → 1.5 mg per 1 d. The time base
    (or the volume) is explicit in the denominator (docs/fhir.md)."""
    code = to_ucum(q)
    top, _, bottom = code.partition("/")
    value = _number(float(q.magnitude))
    return {
        "numerator": {"value": value, "unit": top, "system": UCUM, "code": top},
        "denominator": {"value": 1, "unit": bottom, "system": UCUM, "code": bottom},
    }
