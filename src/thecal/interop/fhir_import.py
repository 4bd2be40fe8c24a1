"""FHIR R4 import of one patient's Bundle (as :mod:`thecal.interop.fhir_export` writes it)
into the clinic: the patient with registration details and diagnoses, the devices and leads
with the procedures that placed and removed them, complications and every prescription
version. One transaction, audited as the importing physician with the file named: it all
commits or nothing does. Record ids are kept (the FHIR ids are the Thecal ids), so an import
followed by an export gives the same resources back.

Checks before anything is written: each resource's structure (fhir.resources R4B), each taken
element with the clinic's registration checks, each device model in the catalogs, each plan
through the therapy core (:func:`thecal.therapy.plan.resolve`) and its safety gate (no hard
finding), the device history with the
lifecycle rules, and a record number not yet in the clinic.

The clinical history comes back from the record-json payload of each anchor resource (the
refill and program-change Procedures, the interrogation DiagnosticReport, the alarm Flag, the
link-delivery Task; :mod:`thecal.interop.fhir_history`): every anchor is decoded strictly
before anything is written, then the records are written in time order after the devices and
prescriptions. Last, in the same transaction, the patient is read back and exported again: it
must give exactly the Bundle's resources (:mod:`thecal.interop.fhir_compare`), so a standard
element edited without its payload, a derived resource (volumes, findings, fills) that does not
follow from its record, or history of a kind no one imports is refused and nothing is written.
``without_history`` leaves all the history out, and the result says how much was left.
"""

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from typing import Any

from thecal.clinic.errors import NotFoundError, PermissionDenied
from thecal.clinic.lifecycle import check_procedure
from thecal.clinic.model import (
    Complication,
    Device,
    DeviceKind,
    Patient,
    PrescriptionVersion,
    Procedure,
    ProcedureKind,
    Role,
    User,
)
from thecal.clinic.patient_record import read_patient
from thecal.clinic.ports import ClinicRepository, Clock, UnitOfWork
from thecal.clinic.registration import DeviceDetails, Diagnosis, PatientDetails, text
from thecal.clinic.stimulator_model import StimLead
from thecal.interop import fhir_assessment, fhir_events, fhir_export, fhir_stimulation
from thecal.interop import fhir_codes as c
from thecal.interop import fhir_payload as payload
from thecal.interop import fhir_read as rd
from thecal.interop.fhir_compare import check_same
from thecal.interop.fhir_history import Catalogs as Catalogs
from thecal.interop.fhir_history import Context, HistoryKind, payload_of
from thecal.interop.fhir_record import stamp_in
from thecal.therapy.findings import Level
from thecal.therapy.plan import resolve
from thecal.therapy.plan_file import PlanFile
from thecal.therapy.safety_gate import check
from thecal.units import InputError

Resource = Mapping[str, Any]
HISTORY = frozenset({"MedicationAdministration", "Observation", "DiagnosticReport",
                     "DetectedIssue", "Flag", "Task", "DeviceRequest",
                     "ClinicalImpression"})  # fmt: skip
HISTORY_PROCEDURES = frozenset({c.REFILL, c.PROGRAM_CHANGE})
TAKEN = frozenset({"Patient", "Condition", "Device", "DeviceUseStatement", "Procedure",
                   "MedicationRequest"})  # fmt: skip
KINDS: tuple[HistoryKind, ...] = (*fhir_events.KINDS, *fhir_stimulation.KINDS,
                                  *fhir_assessment.KINDS)  # fmt: skip


@dataclass(frozen=True)
class ImportResult:
    """The patient written, how many resources of each type were taken (the history's
    included), and how many history resources were left out (``without_history``)."""

    patient: Patient
    taken: Mapping[str, int]
    left_out: Mapping[str, int]


def _is_history(r: Resource) -> bool:
    """A resource of the clinical history (an anchor or a derived resource)."""
    kind = r.get("resourceType")
    if kind == "Procedure":
        return c.code_of(r.get("code"), c.PROCEDURE_KINDS) in HISTORY_PROCEDURES
    return kind in HISTORY


def _kind_of(r: Resource, payload: Mapping[str, Any]) -> HistoryKind:
    """The registered kind of an anchor's payload (InputError naming its ``kind``)."""
    name = payload["kind"]
    where = rd.where(r, "extension(record-json).kind")
    k = next((k for k in KINDS if k.name == name), None)
    if k is None:
        raise InputError(where, f"history of kind {name!r} is not imported by this clinic",
                         f"one of {', '.join(k.name for k in KINDS)}, or --without-history "
                         "to import the rest without the history")  # fmt: skip
    if k.resource_type != r.get("resourceType"):
        raise InputError(where, f"{name!r} on a {r.get('resourceType')}",
                         f"{name!r} on a {k.resource_type}")  # fmt: skip
    return k


def _resources(bundle: Any) -> list[Resource]:
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise InputError("Bundle.resourceType", "the file is not a FHIR Bundle", "a Bundle")
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        raise InputError("Bundle.entry", "has no entries", "a list of entries")
    out = []
    seen: set[tuple[Any, str]] = set()
    for i, e in enumerate(entries):
        r = e.get("resource") if isinstance(e, Mapping) else None
        if not isinstance(r, Mapping) or not isinstance(r.get("id"), str):
            raise InputError(f"Bundle.entry[{i}].resource", "missing or without an id",
                             "a resource with an id")  # fmt: skip
        key = (r.get("resourceType"), r["id"])
        if key in seen:
            raise InputError(f"Bundle.entry[{i}].resource", f"{rd.where(r)} is there twice",
                             "each resource once")  # fmt: skip
        seen.add(key)
        out.append(r)
    return out


def _check_model(d: dict[str, Any], r: Resource, cats: Catalogs) -> str:
    """The catalog's spelling of the device's model (InputError naming Device/id.modelNumber)."""
    at, kind, model = rd.where(r, "modelNumber"), d["kind"], d["model"]
    if kind in (DeviceKind.PUMP, DeviceKind.TRIAL_PUMP):
        return cats.catalog.pump(model, at).model
    if kind is DeviceKind.CATHETER:
        return cats.catalog.catheter(model, at).model
    if cats.stimulation is None:
        raise InputError(at, "the stimulator catalog is not loaded", "a stimulator catalog")
    if kind is DeviceKind.STIMULATOR:
        return cats.stimulation.catalog.ipg(model, at).model
    return cats.stimulation.catalog.lead(model, at).model


def _prescription(r: Resource, patient_id: str, cats: Catalogs, zone: tzinfo | None,
                  ) -> PrescriptionVersion:  # fmt: skip
    plan_json = next((x.get("valueString") for x in r.get("extension", [])
                      if x.get("url") == c.EXT_PLAN), None)  # fmt: skip
    if not isinstance(plan_json, str):
        raise InputError(rd.where(r, "extension"), "no Thecal plan (plan-json extension)",
                         "a prescription exported by Thecal")  # fmt: skip
    plan = payload.validated(PlanFile, plan_json, rd.where(r, "extension(plan-json)"),
                             "a valid plan")  # fmt: skip
    try:
        resolved = resolve(plan.to_typed(), cats.library, cats.catalog)
    except InputError as exc:
        raise InputError(rd.where(r, f"extension(plan-json).{exc.field}"), exc.message,
                         exc.expected) from None  # fmt: skip
    # The safety gate again, on the plan as stored: a hard finding means the gate would have
    # refused it when it was written (the file was changed, or this clinic's library is
    # stricter), so it is not taken.
    hard = [f for f in check(resolved.program, cats.library).findings if f.level is Level.HARD]
    if hard:
        raise InputError(rd.where(r, "extension(plan-json)"),
                         f"the safety gate refuses this plan: {hard[0].code.value}: "
                         f"{hard[0].message}", "a plan without hard findings")  # fmt: skip
    version = next((i.get("value") for i in r.get("identifier", [])
                    if i.get("system") == c.PRESCRIPTION_VERSION), None)  # fmt: skip
    if not isinstance(version, str) or not version.isdigit() or int(version) < 1:
        raise InputError(rd.where(r, "identifier"), f"version {version!r}", "1, 2, …")
    return PrescriptionVersion(
        patient_id, int(version), plan_json,
        text(r.get("requester", {}).get("display"), rd.where(r, "requester"), required=True,
             limit=200),
        # The reason exactly as the program workflow stored it (line breaks and all).
        payload.text((r.get("note") or [{}])[0], "text", rd.where(r, "note"),
                     payload.TEXT_MAX, multiline=True),
        rd.a_time(r, "authoredOn", r.get("authoredOn"), zone), r["id"],
    )  # fmt: skip


def _procedure(r: Resource, patient_id: str, today: date) -> Procedure:
    placed: list[str] = []
    removed: list[str] = []
    for i, f in enumerate(r.get("focalDevice", [])):
        action = rd.code_in(r, f"focalDevice[{i}].action", f.get("action"), c.DEVICE_ACTIONS)
        target = rd.ref_id(r, f"focalDevice[{i}].manipulated", f.get("manipulated"), "Device")
        (placed if action == "implanted" else removed).append(target)
    return Procedure(
        patient_id, ProcedureKind(rd.procedure_kind(r)),
        rd.a_date(r, "performedDateTime", r.get("performedDateTime"), today),
        tuple(placed), tuple(removed),
        text((r.get("note") or [{}])[0].get("text"), rd.where(r, "note"), required=False,
             limit=2000),
        text((r.get("performer") or [{}])[0].get("actor", {}).get("display"),
             rd.where(r, "performer"), required=False, limit=200), r["id"],
    )  # fmt: skip


def import_bundle(
    uow: UnitOfWork, clock: Clock, actor: User, bundle: Any, *, cats: Catalogs,
    source: str, zone: tzinfo | None = None, without_history: bool = False,
) -> ImportResult:  # fmt: skip
    """Import one patient's Bundle (see the module docstring); ``source`` names the file in
    the audit. A physician's act: prescriptions come with it."""
    if actor.role is not Role.PHYSICIAN:
        raise PermissionDenied(actor.username, actor.role.value, "import FHIR records")
    now = clock()
    today = now.date()
    resources = _resources(bundle)
    left: Counter[str] = Counter()
    taken: list[Resource] = []  # everything the import reads or checks, in Bundle order
    core: list[Resource] = []  # the patient, devices, procedures, prescriptions
    anchors: list[tuple[Resource, HistoryKind, dict[str, Any]]] = []
    for r in resources:
        kind = r.get("resourceType")
        payload = payload_of(r)
        if payload is not None or _is_history(r):
            if without_history:
                left[str(kind)] += 1
                continue
            rd.validate(r)
            taken.append(r)
            if payload is not None:
                anchors.append((r, _kind_of(r, payload), payload))
            continue  # a derived resource: checked by the comparison at the end
        if kind not in TAKEN:
            raise InputError(rd.where(r, "resourceType"), f"{kind} is not imported",
                             ", ".join(sorted(TAKEN | HISTORY)))  # fmt: skip
        rd.validate(r)
        taken.append(r)
        core.append(r)
    by_type: dict[str, list[Resource]] = {}
    for r in core:
        by_type.setdefault(str(r["resourceType"]), []).append(r)
    patients = by_type.get("Patient", [])
    if len(patients) != 1:
        raise InputError("Bundle.entry", f"{len(patients)} Patient resources", "exactly one")
    p = rd.patient(patients[0], today)
    pid = p["id"]
    diagnoses: list[Diagnosis] = []
    complications: list[Complication] = []
    for r in by_type.get("Condition", []):
        what, item = rd.condition(r, pid, today)
        (diagnoses if what == "diagnosis" else complications).append(item)
    uses = {rd.ref_id(u, "device", u.get("device"), "Device"): u
            for u in by_type.get("DeviceUseStatement", [])}  # fmt: skip
    devices, leads, details = _devices(by_type.get("Device", []), uses, pid, cats, today)
    procedures = sorted((_procedure(r, pid, today) for r in by_type.get("Procedure", [])),
                        key=lambda x: x.performed_on)  # fmt: skip
    prescriptions = [_prescription(r, pid, cats, zone)
                     for r in by_type.get("MedicationRequest", [])]  # fmt: skip
    patient = Patient(p["mrn"], p["name"], p["birth_year"], p["opioid_naive"],
                      next((d.detail for d in diagnoses if d.code.value == "spasticity"), None),
                      id=pid)  # fmt: skip
    kinds = {d.id: d.kind.value for d in devices} | {x.id: DeviceKind.LEAD.value for x in leads}
    # A removed device is history: its records are kept as recorded (as its model is).
    removed = frozenset(d.id for d in devices if d.removed_on is not None)
    ctx = Context(pid, kinds, frozenset(x.version for x in prescriptions), cats, zone, today,
                  removed)  # fmt: skip
    # Every record decoded before anything is written; written oldest first.
    history = sorted(((k, k.decode(data, rd.where(r, "extension(record-json)"), ctx))
                      for r, k, data in anchors), key=lambda x: x[0].at(x[1]))  # fmt: skip
    with uow.transaction(actor.username, now, f"FHIR import of {source}") as repo:
        if repo.patient_by_mrn(patient.mrn) is not None:
            raise InputError(
                rd.where(patients[0], "identifier(mrn)"),
                f"{patient.mrn} is already in this clinic",
                "a new patient",
            )
        _check_new_ids(repo, core, anchors)
        repo.add_patient(patient)
        if p["sex"] is not None:
            repo.put_patient_details(PatientDetails(pid, p["date_of_birth"], p["sex"],
                                                    p["contact"], tuple(diagnoses)))  # fmt: skip
        _write_devices(repo, devices, procedures, today)
        for d in details:
            repo.add_device_details(d)
        for lead in leads:
            repo.add_stim_lead(lead)
        for rx in sorted(prescriptions, key=lambda x: x.version):
            repo.add_prescription(rx)
        for x in complications:
            repo.add_complication(x)
        for k, record in history:
            k.write(repo, record)
        # The record as written must give the Bundle back, resource by resource.
        again = fhir_export.resources(read_patient(repo, pid), cats.library, cats.catalog,
                                      stamp_in(zone))  # fmt: skip
        check_same(taken, again)
        stored = repo.get_patient(pid)
    return ImportResult(stored, dict(Counter(str(r["resourceType"]) for r in taken)), dict(left))


def _check_new_ids(repo: ClinicRepository, core: Sequence[Resource],
                   anchors: Sequence[tuple[Resource, HistoryKind, Mapping[str, Any]]]
                   ) -> None:  # fmt: skip
    """Refuse, before anything is written, a patient, device, interrogation or assessment id
    the clinic already holds (the ids are kept, so each is a key of the store), naming the
    resource: e.g. the same Bundle again under a corrected record number."""
    getters: dict[str, Callable[[str], Any]] = {
        "Patient": repo.get_patient, "Device": repo.get_device,
        "interrogation": repo.get_interrogation, "assessment": repo.get_assessment,
    }  # fmt: skip
    named = [(str(r["resourceType"]), str(r["id"]), rd.where(r, "id")) for r in core]
    # The payload ids were checked by the decoders (record_id).
    named += [(k.name, str(data["id"]), rd.where(r, "extension(record-json).id"))
              for r, k, data in anchors]  # fmt: skip
    for kind, rid, where in named:
        get = getters.get(kind)
        if get is None:
            continue
        try:
            get(rid)
        except NotFoundError:
            continue
        raise InputError(where, f"{where.split('.', 1)[0]} is already in this clinic",
                         "a record this clinic does not hold")  # fmt: skip


def _devices(
    resources: Sequence[Resource], uses: Mapping[str, Resource], pid: str, cats: Catalogs,
    today: date,
) -> tuple[list[Device], list[StimLead], list[DeviceDetails]]:  # fmt: skip
    devices: list[Device] = []
    leads: list[StimLead] = []
    details: list[DeviceDetails] = []
    for r in resources:
        d = rd.device(r)
        use = uses.get(d["id"])
        if use is None:
            raise InputError(rd.where(r), "no DeviceUseStatement gives its implant date",
                             "a DeviceUseStatement for each device")  # fmt: skip
        period = use.get("timingPeriod", {})
        start = rd.a_date(use, "timingPeriod.start", period.get("start"), today)
        end = period.get("end")
        end_day = rd.a_date(use, "timingPeriod.end", end, today) if end else None
        site = text(use.get("bodySite", {}).get("text"), rd.where(use, "bodySite"),
                    required=False, limit=200)  # fmt: skip
        # A device in place must be a catalog model (the therapy's calculations use it); one
        # removed is history and keeps the model recorded then (catalogs list current models).
        model = _check_model(d, r, cats) if end_day is None else d["model"]
        if d["parent"] is not None:
            name = text(d["name"], rd.where(r, "deviceName"), required=True, limit=40)
            leads.append(StimLead(pid, d["parent"], name, model, start, site, end_day, d["id"]))
            continue
        devices.append(Device(pid, d["kind"], model, start, d["serial"], end_day, d["length"],
                              d["tip_level"], d["volume"], d["notes"], d["id"]))  # fmt: skip
        if d["udi"] or d["pocket_side"] is not None:
            details.append(DeviceDetails(d["id"], pid, d["udi"], d["pocket_side"]))
    return devices, leads, details


def _write_devices(
    repo: ClinicRepository, devices: Sequence[Device], procedures: Sequence[Procedure],
    today: date,
) -> None:  # fmt: skip
    """Replay the procedures in date order with the lifecycle rules; devices no procedure
    placed are written as they are."""
    by_id = {d.id: d for d in devices}
    placed_by_procedure = {i for p in procedures for i in p.placed}
    for d in devices:
        if d.id not in placed_by_procedure:
            repo.add_device(replace(d, removed_on=None))
    for p in procedures:
        missing = [i for i in (*p.placed, *p.removed) if i not in by_id]
        if missing:
            raise InputError(f"Procedure/{p.id}.focalDevice", f"no Device/{missing[0]}",
                             "a device of the Bundle")  # fmt: skip
        placed = [replace(by_id[i], removed_on=None) for i in p.placed]
        current = list(repo.devices_for(p.patient_id))
        stored = {d.id: d for d in current}
        gone = [stored.get(i, by_id[i]) for i in p.removed]
        check_procedure(p, placed, gone, current, today)
        for d in gone:
            repo.update_device(replace(d, removed_on=p.performed_on))
        for d in placed:
            repo.add_device(d)
        repo.add_procedure(p)
    # The end of each DeviceUseStatement is the device's removal date, as exported.
    for d in repo.devices_for(devices[0].patient_id) if devices else ():
        if d.removed_on != by_id[d.id].removed_on:
            repo.update_device(replace(d, removed_on=by_id[d.id].removed_on))
