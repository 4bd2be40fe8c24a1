"""Shared by the stimulator-record and assessment round-trip tests: a patient's record, the
import context for it, a fresh clinic holding only the patient and the devices (what the
import writes before the history), and the history written back through a module's KINDS."""

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from tests.interop.conftest import TODAY, Clinic
from tests.interop.test_fhir_export import walk
from thecal.adapters.composition import stimulator_context
from thecal.clinic.memory import MemoryUnitOfWork
from thecal.clinic.patient_record import PatientData, read_patient
from thecal.interop import fhir_codes as c
from thecal.interop.fhir_history import Catalogs, Context, HistoryKind, payload_of
from thecal.interop.fhir_record import Stamp, stamp_in
from thecal.units import unit_from_ucum

STAMP = stamp_in(UTC)
Resources = Callable[[PatientData, Stamp], Iterator[dict[str, Any]]]


def record(uow: Any, patient_id: str) -> PatientData:
    with uow.reader() as repo:
        return read_patient(repo, patient_id)


def context(clinic: Clinic, data: PatientData) -> Context:
    """The import's context for ``data``: its devices and leads by kind, as a Bundle has."""
    devices = {d.id: d.kind.value for d in data.devices} | {x.id: "lead" for x in data.leads}
    return Context(data.patient.id, devices, frozenset(p.version for p in data.prescriptions),
                   Catalogs(clinic.library, clinic.catalog, stimulator_context()), UTC,
                   TODAY)  # fmt: skip


def fresh(data: PatientData) -> MemoryUnitOfWork:
    """A new clinic with the patient, their devices and leads, no history."""
    uow = MemoryUnitOfWork()
    with uow.transaction("importer", datetime(2026, 11, 23, 12, 0), "setup") as repo:
        repo.add_patient(data.patient)
        for d in data.devices:
            repo.add_device(d)
        for lead in data.leads:
            repo.add_stim_lead(lead)
    return uow


def where(r: dict[str, Any]) -> str:
    return f"{r['resourceType']}/{r['id']}.extension(record-json)"


def anchors(resources: Sequence[dict[str, Any]], kinds: Sequence[HistoryKind],
            name: str | None = None) -> list[tuple[dict[str, Any], dict[str, Any]]]:  # fmt: skip
    """(resource, payload) of each anchor of ``kinds`` (of kind ``name`` only, when given)."""
    names = {k.name for k in kinds}
    out = []
    for r in resources:
        payload = payload_of(r)
        if payload is not None and payload["kind"] in names and name in (None, payload["kind"]):
            out.append((r, payload))
    return out


def decode_all(resources: Sequence[dict[str, Any]], kinds: Sequence[HistoryKind],
               ctx: Context) -> list[tuple[HistoryKind, Any]]:  # fmt: skip
    by_name = {k.name: k for k in kinds}
    out = []
    for r, payload in anchors(resources, kinds):
        kind = by_name[payload["kind"]]
        assert r["resourceType"] == kind.resource_type
        out.append((kind, kind.decode(payload, where(r), ctx)))
    return out


def write_all(uow: MemoryUnitOfWork, decoded: Sequence[tuple[HistoryKind, Any]]) -> None:
    """The writes in time order (stable: same-time records keep the Bundle's order)."""
    with uow.transaction("importer", datetime(2026, 11, 23, 12, 0), "FHIR import") as repo:
        for kind, rec in sorted(decoded, key=lambda x: x[0].at(x[1])):
            kind.write(repo, rec)


def validate(resources: Sequence[dict[str, Any]]) -> None:
    """Each resource with its R4B model, and every code: UCUM parses with Thecal's table,
    every other system is Thecal's own (no public code is used for these records)."""
    for r in resources:
        get_fhir_model_class(r["resourceType"]).model_validate(r)
        for node in walk(r):
            system = node.get("system")
            if system == c.UCUM:
                assert unit_from_ucum(node["code"]) is not None, node
                assert node["unit"] == node["code"]
            elif system is not None:
                assert system.startswith(f"{c.BASE}/"), node
