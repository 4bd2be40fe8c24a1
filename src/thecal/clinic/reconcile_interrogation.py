"""The record an interrogation is reconciled with, read inside the interrogation's transaction:
the prescriptions, the last fill and the pump's catalog entry turned into a
:class:`~thecal.clinic.reconciliation.RecordAtReading`, the implant's program decoded from the
snapshot, and the findings stored with the interrogation."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from thecal.clinic.alarms import alarms_from_snapshot
from thecal.clinic.delivery_settling import settle_deliveries
from thecal.clinic.interrogation import read_snapshot
from thecal.clinic.model import Device, Interrogation, StoredFinding
from thecal.clinic.ports import ClinicRepository
from thecal.clinic.program_history import programs_since_fill
from thecal.clinic.reconciliation import ReconciliationSettings, RecordAtReading, reconcile
from thecal.devices.catalog import DeviceCatalog
from thecal.devices.pump import Program
from thecal.programmer.wire_program import program_from_json
from thecal.therapy.findings import Finding
from thecal.therapy.library import DrugLibrary
from thecal.therapy.plan import ResolvedPlan, resolve
from thecal.therapy.reservoir import ExpectedVolume, Fill, expected_volume
from thecal.units import InputError


def implant_program(
    status: dict[str, Any], library: DrugLibrary
) -> tuple[Program | None, str | None]:
    """The snapshot's active program decoded against the drug library: (program, None), (None,
    None) when the implant has none, or (None, why) when it cannot be read."""
    doc = status.get("program")
    if doc is None:
        return None, None
    try:
        return program_from_json(doc, lambda name: library.get(name, "program.drug")), None
    except (ValueError, KeyError, TypeError) as e:  # CommandError and InputError are ValueErrors
        return None, str(e)[:200]


def _expected(
    repo: ClinicRepository, library: DrugLibrary, catalog: DeviceCatalog, patient_id: str,
    plan: ResolvedPlan | None, at: datetime,
) -> tuple[ExpectedVolume | None, str]:  # fmt: skip
    """The expected reservoir at ``at`` from the last fill (the last refill, else the
    prescription's fill) and every prescription since; else None and why not."""
    refills = repo.refills_for(patient_id)
    if refills:
        fill = Fill(refills[-1].filled.to("mL"), refills[-1].performed_at)
    elif plan is not None and plan.fill is not None:
        fill = plan.fill
    else:
        return None, "no fill is recorded for this patient"
    if at < fill.at:
        return None, f"the last fill ({fill.at:%Y-%m-%d %H:%M}) is after the reading"
    versions = repo.prescriptions_for(patient_id)
    if not versions:
        return None, "the patient has no prescription"
    history = programs_since_fill(versions, fill.at, at, library, catalog)
    return expected_volume(fill, history.schedule, at, (), history.changes), ""


def record_at_reading(
    repo: ClinicRepository, library: DrugLibrary, catalog: DeviceCatalog, device: Device,
    at: datetime,
) -> RecordAtReading:  # fmt: skip
    """What the record says about ``device``'s patient at ``at`` (clinic time)."""
    versions = sorted(repo.prescriptions_for(device.patient_id), key=lambda v: v.version)
    resolved: list[tuple[int, ResolvedPlan]] = []
    for v in versions:
        try:
            resolved.append((v.version, resolve(v.plan().to_typed(), library, catalog)))
        except InputError:
            continue  # an old plan that no longer resolves cannot match the implant's program
    in_force = versions[-1].version if versions else None
    current = resolved[-1] if resolved and resolved[-1][0] == in_force else None
    try:
        expected, note = _expected(repo, library, catalog, device.patient_id,
                                   current[1] if current else None, at)  # fmt: skip
    except InputError as e:
        expected, note = None, f"the expected volume cannot be computed ({e})"
    pump = next((p for p in catalog.pumps if p.model == device.model), None)
    return RecordAtReading(
        at, versions[-1].version if versions else None, current[1] if current else None,
        tuple(r for r in resolved if current is None or r[0] != current[0]), expected, note,
        pump, library.settings.discrepancy_threshold, library.settings.discrepancy_source,
        device.model,
    )  # fmt: skip


@dataclass(frozen=True)
class Reconcile:
    """The :data:`~thecal.clinic.interrogation.Reconciler` the services pass to
    :func:`~thecal.clinic.interrogation.record_interrogation`: the uncertain link deliveries
    to the implant settled (:mod:`thecal.clinic.delivery_settling`), the findings, and the
    implant's alarms added as clinic alarms."""

    library: DrugLibrary
    catalog: DeviceCatalog
    settings: ReconciliationSettings | None

    def findings(
        self, repo: ClinicRepository, record: Interrogation, device: Device
    ) -> tuple[Finding, ...]:
        """The reconciliation findings of ``record`` (not yet stored)."""
        program, unreadable = implant_program(record.status, self.library)
        at_reading = record_at_reading(repo, self.library, self.catalog, device, record.at)
        return reconcile(read_snapshot(record), program, unreadable, at_reading, self.settings)

    def __call__(
        self, repo: ClinicRepository, record: Interrogation, device: Device
    ) -> Interrogation:
        # Uncertain deliveries first: a program the pump shows it took becomes the prescription
        # in force, which the findings then compare with.
        program, unreadable = implant_program(record.status, self.library)
        settle_deliveries(repo, self.library, self.catalog, record, device, program, unreadable)
        found = self.findings(repo, record, device)
        # The implant's alarms become clinic alarms in the same transaction (deduplicated).
        alarms_from_snapshot(repo, read_snapshot(record), device)
        return replace(record, findings=tuple(StoredFinding.of(f) for f in found))
