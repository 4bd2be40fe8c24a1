"""The in-memory registration records (mixed into :class:`thecal.clinic.memory.MemoryRepository`,
whose state holds ``registrations`` and ``device_details``)."""

from collections.abc import Sequence
from typing import Any

from thecal.clinic.model import Patient
from thecal.clinic.registration import DeviceDetails, PatientDetails


class RegistrationMemory:
    """:class:`thecal.clinic.registration_ports.RegistrationRecords` in memory."""

    _s: Any  # the repository's state

    def _touch(self, patient_id: str) -> None:  # the repository's
        raise NotImplementedError

    def _audit(self, action: str, entity: str, entity_id: str) -> None:  # the repository's
        raise NotImplementedError

    def put_patient_details(self, details: PatientDetails) -> None:
        self._touch(details.patient_id)
        action = "update" if details.patient_id in self._s.registrations else "insert"
        self._s.registrations[details.patient_id] = details
        self._audit(action, "patient_details", details.patient_id)

    def patient_details(self, patient_id: str) -> PatientDetails | None:
        found: PatientDetails | None = self._s.registrations.get(patient_id)
        return found

    def add_device_details(self, details: DeviceDetails) -> None:
        self._touch(details.patient_id)
        self._s.device_details[details.device_id] = details
        self._audit("insert", "device_details", details.device_id)

    def device_details(self, device_id: str) -> DeviceDetails | None:
        found: DeviceDetails | None = self._s.device_details.get(device_id)
        return found

    def patient_by_mrn(self, mrn: str) -> Patient | None:
        key = mrn.strip()
        return next((p for p in self._s.patients.values() if p.mrn == key), None)

    def search_patients(self, text: str, limit: int, offset: int) -> tuple[Sequence[Patient], int]:
        needle = text.strip().lower()
        found = sorted(
            (p for p in self._s.patients.values()
             if any(needle in s.lower() for s in (p.mrn, p.display_name, p.id))),
            key=lambda p: p.mrn,
        )  # fmt: skip
        return found[offset : offset + limit], len(found)
