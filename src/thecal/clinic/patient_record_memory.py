"""Many patients' records in the in-memory repository (see
:mod:`thecal.clinic.patient_record_ports`): the definition itself, one ``read_patient`` per
patient."""

from collections.abc import Sequence
from typing import cast

from thecal.clinic.patient_record import PatientData, read_patient
from thecal.clinic.ports import ClinicRepository


class MemoryPatientRecords:
    """Mixed into :class:`~thecal.clinic.memory.MemoryRepository`."""

    def patient_records(self, patient_ids: Sequence[str]) -> list[PatientData]:
        repo = cast(ClinicRepository, self)  # the whole repository this is mixed into
        return [read_patient(repo, i) for i in patient_ids]
