"""FHIR R4 export of one patient: a Bundle of type ``collection`` (docs/fhir.md).

The patient, their devices (pump, catheter, stimulator, leads) with how each was used, the
procedures and every prescription version here; refills, interrogations, stimulator readings,
findings and alarms in :mod:`thecal.interop.fhir_events`. Every resource id derives from the
Thecal id of the record it carries, so two exports of the same record are the same resources.
Resources are plain JSON dicts shaped as the R4B models of ``fhir.resources`` expect (the tests
validate each); building them as dicts keeps a 100,000-patient export fast.
"""

from collections.abc import Iterator
from datetime import tzinfo
from typing import Any

from thecal.clinic.model import Device, DeviceKind, Procedure
from thecal.clinic.ports import UnitOfWork
from thecal.clinic.stimulator_model import StimLead
from thecal.devices.catalog import DeviceCatalog
from thecal.interop import fhir_codes as c
from thecal.interop import fhir_events
from thecal.interop.fhir_record import PatientData, Stamp, day, fid, quantity, read_patient, ref
from thecal.interop.fhir_record import stamp_in as stamp_in
from thecal.interop.fhir_therapy import Therapy, medication_requests
from thecal.therapy.library import DrugLibrary

Resource = dict[str, Any]

_KIND_DISPLAY = {
    DeviceKind.PUMP: "Implanted drug pump",
    DeviceKind.CATHETER: "Intrathecal catheter",
    DeviceKind.TRIAL_PUMP: "External pump (intrathecal trial)",
    DeviceKind.STIMULATOR: "Implanted pulse generator (neurostimulator)",
    DeviceKind.LEAD: "Stimulation lead",
}


def export_patient(
    uow: UnitOfWork,
    *,
    patient_id: str,
    library: DrugLibrary,
    catalog: DeviceCatalog,
    zone: tzinfo | None = None,
) -> Resource:
    """The Bundle (``type: collection``) of everything Thecal records of ``patient_id``, read in
    one transaction. ``zone``: the clinic's time zone for the local times (None: the machine's).
    Raises NotFoundError for an unknown patient."""
    with uow.reader() as repo:
        data = read_patient(repo, patient_id)
    return bundle(resources(data, library, catalog, stamp_in(zone)))


def bundle(items: Iterator[Resource] | list[Resource]) -> Resource:
    """A ``collection`` Bundle; each entry's fullUrl is its type and id under :data:`c.BASE`,
    so the relative references inside resolve within the Bundle."""
    entries = [{"fullUrl": f"{c.BASE}/{r['resourceType']}/{r['id']}", "resource": r}
               for r in items]  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def resources(
    data: PatientData, library: DrugLibrary, catalog: DeviceCatalog, stamp: Stamp,
    cache: dict[str, Therapy] | None = None,
) -> Iterator[Resource]:  # fmt: skip
    """Every resource of one patient, patient first then by kind (a stable order); ``cache``
    as :func:`~thecal.interop.fhir_therapy.medication_requests`."""
    yield patient_resource(data)
    yield from conditions(data, stamp)
    yield from devices(data)
    yield from device_uses(data)
    yield from procedures(data)
    yield from medication_requests(data, library, catalog, stamp, cache)
    yield from fhir_events.resources(data, stamp)


def patient_resource(data: PatientData) -> Resource:
    p, details = data.patient, data.details
    out: Resource = {
        "resourceType": "Patient",
        "id": fid(p.id),
        "identifier": [{"system": c.MRN, "value": p.mrn}],
        "name": [{"text": p.display_name}],
    }
    if details is not None:
        out["gender"] = details.sex.value  # registration's codes are AdministrativeGender
        out["birthDate"] = day(details.date_of_birth)
        if details.contact:
            out["telecom"] = [{"system": "other", "value": details.contact}]
    elif p.birth_year is not None:
        out["birthDate"] = f"{p.birth_year:04d}"  # FHIR date: a year alone is allowed
    if p.opioid_naive is not None:
        out["extension"] = [{"url": c.EXT_OPIOID_NAIVE, "valueBoolean": p.opioid_naive}]
    return out


def conditions(data: PatientData, stamp: Stamp) -> Iterator[Resource]:
    """Registration diagnoses and recorded complications as Conditions (Thecal codes)."""
    pid = data.patient.id
    if data.details is not None:
        for i, dx in enumerate(data.details.diagnoses):
            out: Resource = {
                "resourceType": "Condition", "id": fid(pid, "dx", str(i)),
                "category": [{"text": "diagnosis"}],
                "code": {"coding": [c.coding(c.DIAGNOSIS_CODES, dx.code.value)],
                         "text": dx.label()},
                "subject": ref("Patient", pid),
            }  # fmt: skip
            yield out
    for x in data.complications:
        out = {
            "resourceType": "Condition", "id": fid(x.id),
            "category": [{"text": "complication"}],
            "code": c.concept(c.COMPLICATION_CODES, x.code.value, x.code.value),
            "subject": ref("Patient", pid), "onsetDateTime": day(x.occurred_on),
        }  # fmt: skip
        if x.by:
            out["asserter"] = {"display": x.by}
        if x.notes:
            out["note"] = [{"text": x.notes}]
        if x.device_id:
            out["evidence"] = [{"detail": [ref("Device", x.device_id)]}]
        yield out


def _device(d: Device, data: PatientData) -> Resource:
    out: Resource = {
        "resourceType": "Device",
        "id": fid(d.id),
        "status": "active" if d.in_place else "inactive",
        "deviceName": [{"name": d.model, "type": "model-name"}],
        "modelNumber": d.model,
        "type": c.concept(c.DEVICE_KINDS, d.kind.value, _KIND_DISPLAY[d.kind]),
        "patient": ref("Patient", d.patient_id),
    }
    if d.serial:
        out["serialNumber"] = d.serial
        out["identifier"] = [{"system": c.SERIAL, "value": d.serial}]
    details = data.device_details.get(d.id)
    if details is not None and details.udi:
        out["udiCarrier"] = [{"carrierHRF": details.udi}]
    props: list[Resource] = []
    if d.implanted_length is not None:
        props.append({"type": c.concept(c.DEVICE_PROPERTIES, "implanted-length"),
                      "valueQuantity": [quantity(d.implanted_length, "cm")]})  # fmt: skip
    if d.volume is not None:
        props.append({"type": c.concept(c.DEVICE_PROPERTIES, "volume"),
                      "valueQuantity": [quantity(d.volume, "mL")]})  # fmt: skip
    if d.tip_level:
        props.append({"type": c.concept(c.DEVICE_PROPERTIES, "tip-level"),
                      "valueCode": [{"text": d.tip_level}]})  # fmt: skip
    if details is not None and details.pocket_side is not None:
        props.append({"type": c.concept(c.DEVICE_PROPERTIES, "pocket-side"),
                      "valueCode": [{"text": details.pocket_side.value}]})  # fmt: skip
    if props:
        out["property"] = props
    if d.notes:
        out["note"] = [{"text": d.notes}]
    return out


def _lead(lead: StimLead) -> Resource:
    return {
        "resourceType": "Device",
        "id": fid(lead.id),
        "status": "active" if lead.removed_on is None else "inactive",
        "deviceName": [{"name": lead.model, "type": "model-name"},
                       {"name": lead.name, "type": "user-friendly-name"}],
        "modelNumber": lead.model,
        "type": c.concept(c.DEVICE_KINDS, DeviceKind.LEAD.value, _KIND_DISPLAY[DeviceKind.LEAD]),
        "patient": ref("Patient", lead.patient_id),
        "parent": ref("Device", lead.device_id),
    }  # fmt: skip


def devices(data: PatientData) -> Iterator[Resource]:
    for d in data.devices:
        yield _device(d, data)
    for lead in data.leads:
        yield _lead(lead)


def _use(record_id: str, patient_id: str, start: str, end: str | None, site: str) -> Resource:
    out: Resource = {
        "resourceType": "DeviceUseStatement",
        "id": fid(record_id),
        "status": "active" if end is None else "completed",
        "subject": ref("Patient", patient_id),
        "device": ref("Device", record_id),
        "timingPeriod": {"start": start, **({"end": end} if end else {})},
    }
    if site:
        out["bodySite"] = {"text": site}
    return out


def device_uses(data: PatientData) -> Iterator[Resource]:
    """One DeviceUseStatement per device and lead: in place from its implant to its removal."""
    for d in data.devices:
        yield _use(d.id, d.patient_id, day(d.implanted_on),
                   day(d.removed_on) if d.removed_on else None, d.tip_level or "")  # fmt: skip
    for lead in data.leads:
        yield _use(lead.id, lead.patient_id, day(lead.implanted_on),
                   day(lead.removed_on) if lead.removed_on else None, lead.position)  # fmt: skip


def _focal(action: str, device_ids: tuple[str, ...]) -> list[Resource]:
    return [{"action": c.concept(c.DEVICE_ACTIONS, action, action),
             "manipulated": ref("Device", i)} for i in device_ids]  # fmt: skip


def procedure_resource(p: Procedure) -> Resource:
    out: Resource = {
        "resourceType": "Procedure",
        "id": fid(p.id),
        "status": "completed",
        "code": c.concept(c.PROCEDURE_KINDS, p.kind.value, p.kind.value),
        "subject": ref("Patient", p.patient_id),
        "performedDateTime": day(p.performed_on),
    }
    focal = _focal("implanted", p.placed) + _focal("removed", p.removed)
    if focal:
        out["focalDevice"] = focal
    if p.by:
        out["performer"] = [{"actor": {"display": p.by}}]
    if p.notes:
        out["note"] = [{"text": p.notes}]
    return out


def procedures(data: PatientData) -> Iterator[Resource]:
    for p in data.procedures:
        yield procedure_resource(p)
