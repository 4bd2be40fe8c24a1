"""Many patients' whole records in one read (part of
:class:`thecal.clinic.ports.ClinicRepository`): what a clinic-wide export reads, a chunk of
patients at a time, instead of a dozen queries per patient (benchmarks/fhir_export.py)."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # patient_record imports the ports: a runtime import would be a cycle
    from thecal.clinic.patient_record import PatientData


class PatientRecords(Protocol):
    # The record of each of ``patient_ids``, in the order given (a repeated id: repeated),
    # each equal to what ``read_patient`` reads of it; NotFoundError naming the first unknown
    # id (nothing returned). Its definition is ``[read_patient(repo, i) for i in patient_ids]``.
    def patient_records(self, patient_ids: Sequence[str]) -> "list[PatientData]": ...
