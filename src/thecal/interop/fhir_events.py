"""FHIR resources of what happened to a patient's devices (docs/fhir.md): each refill as a
Procedure with the fill as a MedicationAdministration and its volumes as Observations; each
program change as a Procedure; each interrogation as a DiagnosticReport over its Observations,
and each bolus the implant logged as a MedicationAdministration; every recorded safety finding
as a DetectedIssue (:mod:`thecal.interop.fhir_findings`), every alarm as a Flag and every write
over an implant link as a Task. The refill and program-change Procedures, the
DiagnosticReport, the Flag and the Task are *anchors*: each carries its record as record-json
(:mod:`thecal.interop.fhir_event_records`), which the import decodes with :data:`KINDS`.
Stimulator records are in :mod:`thecal.interop.fhir_stimulation`, assessments in
:mod:`thecal.interop.fhir_assessment`."""

import html
import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pint

from thecal.clinic.implant_link_model import DeliveryOutcome, LinkDelivery
from thecal.clinic.interrogation import read_snapshot
from thecal.clinic.model import (
    Alarm,
    Device,
    DeviceKind,
    Interrogation,
    ProgramChange,
    RefillRecord,
)
from thecal.clinic.ports import ClinicRepository
from thecal.devices.log import EventKind
from thecal.interop import fhir_assessment, fhir_stimulation
from thecal.interop import fhir_codes as c
from thecal.interop import fhir_event_records as pl
from thecal.interop.fhir_findings import findings
from thecal.interop.fhir_history import HistoryKind, attach
from thecal.interop.fhir_record import PatientData, Stamp, fid, observation, quantity, ref
from thecal.units import Q_, known_unit

Resource = dict[str, Any]


def _write_alarm(repo: ClinicRepository, a: Alarm) -> None:
    repo.add_alarm(a)


KINDS: tuple[HistoryKind, ...] = (
    HistoryKind("refill", "Procedure", pl.refill_in, lambda repo, r: repo.add_refill(r),
                lambda r: r.performed_at),
    HistoryKind("program-change", "Procedure", pl.program_change_in,
                lambda repo, x: repo.add_program_change(x), lambda x: x.at),
    HistoryKind("interrogation", "DiagnosticReport", pl.interrogation_in,
                lambda repo, i: repo.add_interrogation(i), lambda i: i.at),
    HistoryKind("alarm", "Flag", pl.alarm_in, _write_alarm, lambda a: a.raised_at),
    HistoryKind("link-delivery", "Task", pl.delivery_in,
                lambda repo, d: repo.add_link_delivery(d), lambda d: d.at),
)  # fmt: skip
"""The history kinds of this module (refills, program changes, interrogations, alarms, link
deliveries) the import takes back (:mod:`thecal.interop.fhir_history`)."""


def resources(data: PatientData, stamp: Stamp) -> Iterator[Resource]:
    rx = {p.version: p.id for p in data.prescriptions}
    for r in data.refills:
        yield from refill(r, rx.get(r.prescription_version), stamp)
    for change in data.program_changes:
        yield from program_change(change, data, rx.get(change.new_version), stamp)
    seen: set[str] = set()
    for i in data.interrogations:
        yield from interrogation(i, stamp)
        yield from boluses(i, stamp, seen)
    yield from fhir_stimulation.resources(data, stamp)
    yield from fhir_assessment.resources(data, stamp)
    for a in data.alarms:
        yield alarm(a, stamp)
    for d in data.deliveries:
        yield delivery(d, rx.get(d.prescription_version or 0), stamp)


def _narrative(lines: Sequence[str]) -> Resource:
    """A generated narrative (``text``): what R4 has no element for, in words for a reader."""
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def alarm(a: Alarm, stamp: Stamp) -> Resource:
    """The alarm as a Flag; R4's Flag has no element for its acknowledgement or resolution, so
    they are in its narrative (and the record-json payload)."""
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
    lines = []
    if a.acknowledged_at is not None:
        lines.append(f"Acknowledged by {a.acknowledged_by} at {stamp(a.acknowledged_at)}.")
    if a.cleared_at is not None:
        lines.append(f"Resolved by {a.cleared_by} at {stamp(a.cleared_at)}"
                     + (f": {a.resolution}" if a.resolution else "."))  # fmt: skip
    if lines:
        out["text"] = _narrative(lines)
    return attach(out, "alarm", pl.alarm_out(a, stamp))


def _pump_at(data: PatientData, at: datetime) -> Device | None:
    """The drug pump in place on ``at``'s day (None when the record has none)."""
    day = at.date()
    return next((d for d in data.devices
                 if d.kind in (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP) and d.implanted_on <= day
                 and (d.removed_on is None or d.removed_on > day)), None)  # fmt: skip


def program_change(x: ProgramChange, data: PatientData, prescription_id: str | None,
                   stamp: Stamp) -> Iterator[Resource]:  # fmt: skip
    """The change as a Procedure coded ``program-change`` (its anchor) and its findings."""
    at = stamp(x.at)
    was = f" (was version {x.old_version})" if x.old_version is not None else ""
    out: Resource = {
        "resourceType": "Procedure", "id": fid(x.id), "status": "completed",
        "code": c.concept(c.PROCEDURE_KINDS, c.PROGRAM_CHANGE, "program change"),
        "subject": ref("Patient", x.patient_id), "performedDateTime": at,
        "performer": [{"actor": {"display": x.by}}],
        "note": [{"text": f"prescription version {x.new_version}{was}"}],
    }  # fmt: skip
    if x.reason:
        out["reasonCode"] = [{"text": x.reason}]
    pump = _pump_at(data, x.at)
    if pump is not None:
        out["focalDevice"] = [{"action": c.concept(c.DEVICE_ACTIONS, "reprogrammed",
                                                   "reprogrammed"),
                               "manipulated": ref("Device", pump.id)}]  # fmt: skip
    yield attach(out, c.PROGRAM_CHANGE, pl.program_change_out(x, stamp))
    implicated = ref("MedicationRequest", prescription_id) if prescription_id else None
    yield from findings(x.id, x.patient_id, x.findings, x.overrides, at, implicated)


_TASK_STATUS = {
    DeliveryOutcome.CONFIRMED: "completed", DeliveryOutcome.REFUSED: "rejected",
    # Sent without an acknowledgement: not known to be done until an interrogation settles it.
    DeliveryOutcome.UNCERTAIN: "in-progress",
    DeliveryOutcome.SETTLED_CONFIRMED: "completed",
    DeliveryOutcome.SETTLED_NOT_APPLIED: "failed",
}  # fmt: skip


def delivery(d: LinkDelivery, prescription_id: str | None, stamp: Stamp) -> Resource:
    """A write sent over an implant link as a Task: what was sent (``input``), to which pump
    (``owner``), by whom, and its outcome (``status``, ``businessStatus``)."""
    at = stamp(d.at)
    out: Resource = {
        "resourceType": "Task", "id": fid(d.id), "status": _TASK_STATUS[d.outcome],
        "businessStatus": c.concept(c.LINK_OUTCOMES, d.outcome.value, d.outcome.value),
        "intent": "order", "code": c.concept(c.LINK_WRITES, d.what, d.what),
        "for": ref("Patient", d.patient_id), "owner": ref("Device", d.device_id),
        "authoredOn": at, "executionPeriod": {"start": at}, "requester": {"display": d.by},
    }  # fmt: skip
    if d.detail:
        out["statusReason"] = {"text": d.detail}
    if prescription_id:
        out["focus"] = ref("MedicationRequest", prescription_id)
    inputs = [{"type": {"text": name}, "valueString": value}
              for name, value in d.payload if name and value]  # fmt: skip
    if inputs:
        out["input"] = inputs
    return attach(out, "link-delivery", pl.delivery_out(d, stamp))


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
    anchor: Resource = {
        "resourceType": "Procedure", "id": fid(r.id), "status": "completed",
        "code": c.concept(c.PROCEDURE_KINDS, c.REFILL, "refill"),
        "subject": ref("Patient", r.patient_id), "performedDateTime": at,
        "performer": [{"actor": {"display": r.by}}],
        "focalDevice": [{"action": c.concept(c.DEVICE_ACTIONS, "refilled", "refilled"),
                         "manipulated": ref("Device", r.device_id)}],
    }  # fmt: skip
    if r.refill_by is not None:
        anchor["followUp"] = [{"text": f"next refill by {stamp(r.refill_by)} ({r.decided_by})"}]
    yield attach(anchor, c.REFILL, pl.refill_out(r, stamp))
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
    if i.by:
        report["performer"] = [{"display": i.by}]
    if results:
        report["result"] = [ref("Observation", o["id"]) for o in results]
    yield attach(report, "interrogation", pl.interrogation_out(i, stamp))
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
