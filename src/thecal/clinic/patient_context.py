"""What the clinic workflows read about a patient before checking anything: the current
prescription, the drug pump in place, the patient spec a plan is resolved with (the registry
first, the plan filling what it lacks) and the version stamp that detects a concurrent edit.
"""

from dataclasses import replace

from thecal.clinic.model import Device, DeviceKind, Patient, PrescriptionVersion
from thecal.clinic.ports import ClinicRepository
from thecal.therapy.plan_file import PatientSpec, PlanFile


def current_prescription(repo: ClinicRepository, patient_id: str) -> PrescriptionVersion | None:
    versions = repo.prescriptions_for(patient_id)
    return versions[-1] if versions else None


def pump_in_place(repo: ClinicRepository, patient_id: str) -> Device | None:
    for d in repo.devices_for(patient_id):
        if d.kind in (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP) and d.in_place:
            return d
    return None


def patient_spec(patient: Patient, plan: PlanFile) -> PatientSpec:
    # The registry is the record of the patient; the plan's values fill what it lacks.
    return PatientSpec(
        opioid_naive=(
            patient.opioid_naive if patient.opioid_naive is not None else plan.patient.opioid_naive
        ),
        spasticity_origin=patient.spasticity_origin or plan.patient.spasticity_origin,
    )


def with_version(patient: Patient, version: int) -> Patient:
    return replace(patient, version=version)
