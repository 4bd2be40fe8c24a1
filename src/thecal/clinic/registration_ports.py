"""What registration needs from storage (part of :class:`thecal.clinic.ports.ClinicRepository`):
the patient's registration details, a device's UDI and pocket side, and patient search."""

from collections.abc import Sequence
from typing import Protocol

from thecal.clinic.model import Patient
from thecal.clinic.registration import DeviceDetails, PatientDetails


class RegistrationRecords(Protocol):
    # Insert or replace the patient's details (audited; the patient's version moves on).
    def put_patient_details(self, details: PatientDetails) -> None: ...
    def patient_details(self, patient_id: str) -> PatientDetails | None: ...
    def add_device_details(self, details: DeviceDetails) -> None: ...
    def device_details(self, device_id: str) -> DeviceDetails | None: ...
    # The patient with this MRN (exact, after stripping), None: none.
    def patient_by_mrn(self, mrn: str) -> Patient | None: ...
    # Patients whose MRN, name or id contains ``text`` (case-insensitive; "" matches all),
    # by MRN: ``offset`` then at most ``limit``; and how many match in all.
    def search_patients(
        self, text: str, limit: int, offset: int
    ) -> tuple[Sequence[Patient], int]: ...
