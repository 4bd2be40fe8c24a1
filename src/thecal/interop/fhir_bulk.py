"""FHIR R4 export of many patients for Bulk Data NDJSON (docs/fhir.md, "Bulk export"): the same
resources as each patient's Bundle (:func:`thecal.interop.fhir_export.resources`), read a chunk
of patients at a time with the repository's bulk read (``patient_records``), each distinct plan
resolved once. Pure: it reads through the clinic's ports; the files are the caller's."""

from collections.abc import Callable, Iterator, Sequence

from thecal.clinic.ports import UnitOfWork
from thecal.devices.catalog import DeviceCatalog
from thecal.interop.fhir_export import Resource, resources
from thecal.interop.fhir_record import Stamp
from thecal.interop.fhir_therapy import Therapy
from thecal.therapy.library import DrugLibrary

CHUNK = 500
"""Patients read in one transaction: memory stays bounded (a chunk's records at a time) and each
patient's record is read whole, consistently; the clinic is not one snapshot across chunks."""


def clinic_patient_ids(uow: UnitOfWork) -> list[str]:
    """Every patient's id, by record number (MRN): the order of a whole-clinic export."""
    with uow.reader() as repo:
        return [p.id for p in repo.list_patients()]


def bulk_resources(
    uow: UnitOfWork,
    patient_ids: Sequence[str],
    library: DrugLibrary,
    catalog: DeviceCatalog,
    stamp: Stamp,
    *,
    chunk: int = CHUNK,
    cache: dict[str, Therapy] | None = None,
    done: Callable[[int], None] | None = None,
) -> Iterator[Resource]:
    """Every resource of each of ``patient_ids``, patient after patient, each patient's in the
    order of its Bundle. ``chunk`` patients (at least 1) are read per read transaction;
    ``cache`` (a new one when None) keeps each plan's medication and dosages across patients;
    ``done(n)`` is told after each chunk's ``n`` patients are yielded (a progress bar).
    NotFoundError for an unknown id, before any resource of its chunk."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    plans: dict[str, Therapy] = {} if cache is None else cache
    for start in range(0, len(patient_ids), chunk):
        part = patient_ids[start : start + chunk]
        with uow.reader() as repo:
            records = repo.patient_records(part)
        for data in records:
            yield from resources(data, library, catalog, stamp, plans)
        if done is not None:
            done(len(part))
