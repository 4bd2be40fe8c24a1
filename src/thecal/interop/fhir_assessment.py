"""FHIR resources of a patient's recorded assessments (decision support; docs/fhir.md)."""

from collections.abc import Iterator
from typing import Any

from thecal.interop.fhir_history import HistoryKind
from thecal.interop.fhir_record import PatientData, Stamp

Resource = dict[str, Any]

KINDS: tuple[HistoryKind, ...] = ()
"""The assessment history kinds the import takes back (:mod:`thecal.interop.fhir_history`)."""


def resources(data: PatientData, stamp: Stamp) -> Iterator[Resource]:
    """The assessments of ``data`` (none exported yet: docs/fhir.md)."""
    return iter(())
