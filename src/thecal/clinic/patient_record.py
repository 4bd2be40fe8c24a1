"""One patient's whole clinic record, read in one transaction: what an export writes (FHIR,
reports) and what an import must give back. Pure: it reads through the repository port."""

from collections.abc import Mapping
from dataclasses import dataclass

from thecal.clinic.assessment_ports import AssessmentRecord
from thecal.clinic.implant_link_model import LinkDelivery
from thecal.clinic.model import (
    Alarm,
    Complication,
    Device,
    DeviceKind,
    Interrogation,
    Patient,
    PrescriptionVersion,
    Procedure,
    ProgramChange,
    RefillRecord,
)
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.registration import DeviceDetails, PatientDetails
from thecal.clinic.stimulator_model import (
    BatteryReading,
    ImpedanceSet,
    StimLead,
    StimProgramVersion,
)


@dataclass(frozen=True)
class PatientData:
    """Everything Thecal records of one patient (each sequence oldest first, as the
    repository's ``*_for`` reads give it). ``deliveries``: every write sent over an implant
    link and its outcome."""

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
    stim_programs: tuple[StimProgramVersion, ...] = ()
    assessments: tuple[AssessmentRecord, ...] = ()
    deliveries: tuple[LinkDelivery, ...] = ()


def read_patient(repo: ClinicRepository, patient_id: str) -> PatientData:
    """The record of ``patient_id`` (NotFoundError when there is no such patient)."""
    patient = repo.get_patient(patient_id)
    devices = tuple(repo.devices_for(patient_id))
    details = {d.id: x for d in devices if (x := repo.device_details(d.id)) is not None}
    leads: list[StimLead] = []
    impedances: list[ImpedanceSet] = []
    batteries: list[BatteryReading] = []
    programs: list[StimProgramVersion] = []
    for s in (d for d in devices if d.kind is DeviceKind.STIMULATOR):
        leads += repo.stim_leads_for(s.id)
        programs += repo.stim_programs_for(s.id)
        impedances += repo.impedance_sets_for(s.id)
        batteries += repo.battery_readings_for(s.id)
    return PatientData(
        patient, repo.patient_details(patient_id), devices, details, tuple(leads),
        tuple(repo.procedures_for(patient_id)), tuple(repo.prescriptions_for(patient_id)),
        tuple(repo.refills_for(patient_id)), tuple(repo.program_changes_for(patient_id)),
        tuple(repo.interrogations_for(patient_id)), tuple(repo.alarms_for(patient_id)),
        tuple(repo.complications_for(patient_id)), tuple(impedances), tuple(batteries),
        tuple(programs), tuple(repo.assessments_for(patient_id)),
        tuple(repo.link_deliveries_for(patient_id)),
    )  # fmt: skip
