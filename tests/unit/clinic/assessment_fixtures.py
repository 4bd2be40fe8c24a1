"""Shared set-up for the recorded-assessment tests (memory and SQL)."""

from datetime import date, datetime
from typing import Any

from tests.unit.clinic.conftest import FakeClock, setup_patient
from thecal.adapters.composition import clinic_settings, stimulator_context
from thecal.adapters.decision_files import clinic_rules
from thecal.clinic.assessment_workflow import AssessmentServices
from thecal.clinic.model import Device, Patient
from thecal.clinic.registration import Diagnosis, DiagnosisCode, PatientDetails, Sex
from thecal.devices.catalog import DeviceCatalog
from thecal.therapy.library import DrugLibrary

# Seed 003, case 2 (cancer-pain patient; urinary retention, weakness and paraesthesia days
# after an intrathecal pump implant, interrogation unremarkable): what the clinician enters.
SEED_003_CASE_2: dict[str, Any] = {
    "interrogation": "normal",
    "symptoms": [
        {"kind": "weakness", "onset": "2 d", "progressive": True},
        {"kind": "bladder", "onset": "2 d"},
        {"kind": "sensory_change", "onset": "3 d"},
        {"kind": "pain", "place": "back", "onset": "4 d"},
    ],
}


def assessments(uow: Any, clock: FakeClock, catalog: DeviceCatalog) -> AssessmentServices:
    return AssessmentServices(uow, clock, catalog, clinic_settings(), stimulator_context(),
                              clinic_rules())  # fmt: skip


def cancer_patient(
    uow: Any, clock: FakeClock, library: DrugLibrary, catalog: DeviceCatalog
) -> tuple[Patient, Device]:
    """The morphine SynchroMed II patient (implanted 2024-01-02) with spinal metastases and
    CKD G4 coded at registration; the clock then 6 days after the implant."""
    patient, pump = setup_patient(uow, clock, library, catalog)
    coded = (Diagnosis(DiagnosisCode.SPINAL_METASTASES), Diagnosis(DiagnosisCode.CKD, "G4"))
    details = PatientDetails(patient.id, date(1960, 5, 1), Sex.FEMALE, diagnoses=coded)
    with uow.transaction("paul", clock(), "registration") as repo:
        repo.put_patient_details(details)
    clock.now = datetime(2024, 1, 8, 9, 0)
    return patient, pump
