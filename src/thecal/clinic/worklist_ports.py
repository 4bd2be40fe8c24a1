"""What the worklist reads from storage beyond the common records (part of
:class:`thecal.clinic.ports.ClinicRepository`): light reads that do not build every patient's
refill or device, so that the worklist of a large clinic costs what it lists
(benchmarks/worklist_load.py)."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import pint

from thecal.clinic.model import Device, StoredFinding


@dataclass(frozen=True)
class RefillFindings:
    """The findings stored with refill ``refill_id`` (a patient's latest)."""

    patient_id: str
    refill_id: str
    performed_at: datetime
    findings: tuple[StoredFinding, ...]


@dataclass(frozen=True)
class RefillVolumes:
    """The volumes of the latest refill of pump ``device_id`` (model ``model``) in place."""

    patient_id: str
    device_id: str
    model: str
    expected: pint.Quantity
    withdrawn: pint.Quantity


class WorklistReads(Protocol):
    # The findings of each patient's latest refill, for the latest refills that have any.
    def latest_refill_findings(self) -> Sequence[RefillFindings]: ...

    # The stimulators in place (kind STIMULATOR, not removed), by (implanted_on, id).
    def stimulators_in_place(self) -> Sequence[Device]: ...

    # Display names of the patients ``patient_ids`` in one read (an unknown id is left out).
    def patient_names(self, patient_ids: Collection[str]) -> dict[str, str]: ...

    # The latest refill's volumes of each drug pump (or trial pump) in place that has one.
    def latest_refill_volumes(self) -> Sequence[RefillVolumes]: ...

    # The patients with an interrogation whose stored findings are not empty.
    def patients_with_interrogation_findings(self) -> Collection[str]: ...
