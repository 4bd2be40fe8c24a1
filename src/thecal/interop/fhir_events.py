"""FHIR resources of what happened to a patient's devices (docs/fhir.md): each refill as a
Procedure with the fill as a MedicationAdministration and its volumes as Observations; each
interrogation as a DiagnosticReport over its Observations, and each bolus the implant logged as
a MedicationAdministration; every recorded safety finding as a DetectedIssue (Thecal
finding-code system) and every alarm as a Flag. Stimulator records are in
:mod:`thecal.interop.fhir_stimulation`, assessments in :mod:`thecal.interop.fhir_assessment`."""

import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pint

from thecal.clinic.interrogation import read_snapshot
from thecal.clinic.model import Interrogation, RefillRecord, StoredFinding
from thecal.devices.log import EventKind
from thecal.interop import fhir_assessment, fhir_stimulation
from thecal.interop import fhir_codes as c
from thecal.interop.fhir_history import HistoryKind
from thecal.interop.fhir_record import PatientData, Stamp, fid, observation, quantity, ref
from thecal.units import Q_, known_unit

Resource = dict[str, Any]

KINDS: tuple[HistoryKind, ...] = ()
"""The history kinds of this module (refills, program changes, interrogations, alarms) the
import takes back (:mod:`thecal.interop.fhir_history`)."""


def resources(data: PatientData, stamp: Stamp) -> Iterator[Resource]:
    rx = {p.version: p.id for p in data.prescriptions}
    for r in data.refills:
        yield from refill(r, rx.get(r.prescription_version), stamp)
    for change in data.program_changes:
        target = rx.get(change.new_version)
        implicated = ref("MedicationRequest", target) if target else None
        yield from findings(change.id, change.patient_id, change.findings, change.overrides,
                            stamp(change.at), implicated)  # fmt: skip
    seen: set[str] = set()
    for i in data.interrogations:
        yield from interrogation(i, stamp)
        yield from boluses(i, stamp, seen)
    yield from fhir_stimulation.resources(data, stamp)
    yield from fhir_assessment.resources(data, stamp)
    for a in data.alarms:
        out: Resource = {
            "resourceType": "Flag", "id": fid(a.id),
            "status": "active" if a.open else "inactive",
            "category": [{"text": f"alarm ({a.level})"}],
            "code": {"coding": [c.coding(c.ALARM_CODES, a.code)], "text": a.message},
            "subject": ref("Patient", a.patient_id),
            "period": {"start": stamp(a.raised_at),
                       **({"end": stamp(a.cleared_at)} if a.cleared_at else {})},
        }  # fmt: skip
        if a.device_id:
            out["author"] = ref("Device", a.device_id)
        yield out


def _volume(
    record_id: str, code: str, patient_id: str, at: str, device_id: str, q: pint.Quantity,
    part_of: Resource | None = None,
) -> Resource:  # fmt: skip
    out = observation(fid(record_id, code), code, patient_id, at, device_id)
    out["valueQuantity"] = quantity(q, "mL")
    if part_of is not None:
        out["partOf"] = [part_of]
    return out


def refill(r: RefillRecord, prescription_id: str | None, stamp: Stamp) -> Iterator[Resource]:
    """The refill (Procedure), the fill (MedicationAdministration) and its volumes."""
    at = stamp(r.performed_at)
    yield {
        "resourceType": "Procedure", "id": fid(r.id), "status": "completed",
        "code": c.concept(c.PROCEDURE_KINDS, "refill", "refill"),
        "subject": ref("Patient", r.patient_id), "performedDateTime": at,
        "performer": [{"actor": {"display": r.by}}],
        "focalDevice": [{"action": c.concept(c.DEVICE_ACTIONS, "refilled", "refilled"),
                         "manipulated": ref("Device", r.device_id)}],
    }  # fmt: skip
    admixture = ", ".join(f"{drug} {conc}" for drug, conc in r.concentrations)
    fill: Resource = {
        "resourceType": "MedicationAdministration", "id": fid(r.id), "status": "completed",
        "medicationCodeableConcept": {"text": admixture or "admixture not recorded"},
        "subject": ref("Patient", r.patient_id), "effectiveDateTime": at,
        "performer": [{"actor": {"display": r.by}}],
        "partOf": [ref("Procedure", r.id)], "device": [ref("Device", r.device_id)],
        "dosage": {"text": f"filled into the pump reservoir (lot {r.drug_lot})",
                   "route": c.intrathecal_route(), "dose": quantity(r.filled, "mL")},
    }  # fmt: skip
    if prescription_id:
        fill["request"] = ref("MedicationRequest", prescription_id)
    yield fill
    part = ref("Procedure", r.id)
    for code, q in (("expected-remaining", r.expected_remaining), ("withdrawn", r.withdrawn),
                    ("discrepancy", r.discrepancy), ("filled", r.filled),
                    ("confirmed-after-fill", r.confirmed_after_fill)):  # fmt: skip
        if q is not None:
            yield _volume(r.id, code, r.patient_id, at, r.device_id, q, part)
    yield from findings(r.id, r.patient_id, r.findings, r.overrides, at, part)


def interrogation(i: Interrogation, stamp: Stamp) -> Iterator[Resource]:
    """The interrogation as a DiagnosticReport referencing its Observations."""
    view = read_snapshot(i)
    at = stamp(i.at)
    results: list[Resource] = []
    for code, q in (("reservoir-estimate", view.reservoir_estimate),
                    ("delivered-total", view.delivered_total)):  # fmt: skip
        if q is not None:
            obs = _volume(i.id, code, i.patient_id, at, i.device_id, q)
            results.append(obs)
    if view.eri_at is not None:
        obs = observation(fid(i.id, "elective-replacement"), "elective-replacement",
                           i.patient_id, at, i.device_id)  # fmt: skip
        obs["valueDateTime"] = stamp(view.eri_at)
        results.append(obs)
    yield from results
    report: Resource = {
        "resourceType": "DiagnosticReport", "id": fid(i.id), "status": "final",
        "code": c.concept(c.REPORT_CODES, "interrogation", "Implant interrogation"),
        "subject": ref("Patient", i.patient_id), "effectiveDateTime": at,
        "conclusion": view.summary,
    }  # fmt: skip
    if results:
        report["result"] = [ref("Observation", o["id"]) for o in results]
    yield report
    yield from findings(i.id, i.patient_id, i.findings, (), at,
                        ref("DiagnosticReport", i.id))  # fmt: skip


def _logged_volume(values: Any) -> pint.Quantity | None:
    """The ``["volume", magnitude, unit]`` of a logged event, None when absent or unreadable
    (a unit from the allow-list only, a finite number)."""
    for v in values if isinstance(values, list) else ():
        if isinstance(v, list) and len(v) == 3 and v[0] == "volume":
            unit = known_unit(v[2]) if isinstance(v[2], str) else None
            number = isinstance(v[1], int | float) and not isinstance(v[1], bool)
            if unit is not None and number and math.isfinite(v[1]):
                return Q_(float(v[1]), unit)
    return None


def boluses(i: Interrogation, stamp: Stamp, seen: set[str]) -> Iterator[Resource]:
    """Each completed bolus the implant logged (``bolus end`` with its volume) as a
    MedicationAdministration; the time is the implant's clock. A log event read again by a
    later interrogation is written once (``seen``: the ids so far)."""
    for e in i.log:
        if not isinstance(e, dict) or e.get("kind") != EventKind.BOLUS_END.value:
            continue
        volume, at = _logged_volume(e.get("values")), e.get("at")
        seq = e.get("seq")
        if volume is None or not isinstance(at, str) or not isinstance(seq, int):
            continue
        try:
            when = stamp(datetime.fromisoformat(at))
        except ValueError:
            continue
        bid = fid(i.device_id, "bolus", str(seq))
        if bid in seen:
            continue
        seen.add(bid)
        yield {
            "resourceType": "MedicationAdministration", "id": bid, "status": "completed",
            "medicationCodeableConcept": {"text": "the pump reservoir's admixture"},
            "subject": ref("Patient", i.patient_id), "effectiveDateTime": when,
            "device": [ref("Device", i.device_id)],
            "supportingInformation": [ref("DiagnosticReport", i.id)],
            "note": [{"text": f"{e.get('message', 'bolus')} (logged by the implant, its clock)"}],
            "dosage": {"route": c.intrathecal_route(), "dose": quantity(volume, "mL")},
        }  # fmt: skip


def findings(
    record_id: str, patient_id: str, found: Sequence[StoredFinding],
    overrides: Sequence[tuple[str, str]], at: str, implicated: Resource | None,
) -> Iterator[Resource]:  # fmt: skip
    """Each stored finding as a DetectedIssue coded in the Thecal finding-code system; the
    reason recorded for a soft one is its mitigation."""
    reasons = dict(overrides)
    for n, f in enumerate(found):
        out: Resource = {
            "resourceType": "DetectedIssue", "id": fid(record_id, "f", str(n)),
            "status": "final", "code": c.concept(c.FINDING_CODES, f.code, f.code),
            "severity": c.SEVERITY[f.level.value], "patient": ref("Patient", patient_id),
            "identifiedDateTime": at, "detail": f.message,
            "evidence": [{"code": [{"text": f"source: {f.source}"}]}],
        }  # fmt: skip
        if implicated is not None:
            out["implicated"] = [implicated]
        if f.code in reasons:
            out["mitigation"] = [{"action": {"text": f"reason given: {reasons[f.code]}"}}]
        yield out
