"""Registration (issue 13): ``POST /api/v1/patients`` registers a patient, ``GET
/api/v1/registry?q=`` searches and pages the registry, ``GET|PUT
/api/v1/patients/{id}/registration`` reads and updates it, ``POST .../procedures`` records an
implant, trial, revision, replacement or explant with its devices (and stimulator leads), ``POST
.../complications`` a complication. Every value is checked by the clinic services; a refusal is
422 naming the field, and nothing is written."""

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from thecal.api.context import services
from thecal.api.deps import VERSION_MAX, QuantityIn, api_user, quantity, writer
from thecal.api.errors import input_error, responses, write_refused
from thecal.api.routers.refills import known_patient
from thecal.api.schemas import PatientSummary, QuantityOut
from thecal.clinic.model import ComplicationCode, Device, ProcedureKind, User
from thecal.clinic.registration import DeviceDetails
from thecal.clinic.registration_facade import PatientFile
from thecal.clinic.registration_services import PAGE_MAX, LeadInput
from thecal.clinic.services import ClinicServices
from thecal.units import Dimension, InputError
from thecal.units.ucum import ucum_json

router = APIRouter(tags=["registration"])

_TEXT = 4000  # request bound; the services' own limits name the field


class PatientIn(BaseModel):
    mrn: str = Field(max_length=_TEXT)
    name: str = Field(max_length=_TEXT)
    date_of_birth: str = Field(max_length=40, description="YYYY-MM-DD")
    sex: Literal["female", "male", "other", "unknown"]
    contact: str = Field("", max_length=_TEXT)
    diagnoses: list[str] = Field(default_factory=list, max_length=50,
                                 description="cancer-spinal-metastases, ckd:G1…G5, dialysis, "
                                 "diabetes, spasticity:spinal|cerebral, other:TEXT")  # fmt: skip


class PatientUpdateIn(PatientIn):
    patient_version: int = Field(ge=1, le=VERSION_MAX)


class DeviceIn(BaseModel):
    kind: Literal["pump", "trial-pump", "catheter", "stimulator"]
    model: str = Field(max_length=_TEXT)
    serial: str = Field("", max_length=_TEXT)
    udi: str = Field("", max_length=_TEXT)
    pocket_side: Literal["left", "right", "midline"] | None = None
    length: QuantityIn | None = Field(None, description="catheter: implanted length, e.g. cm")
    tip_level: str | None = Field(None, max_length=40, description="catheter: e.g. T10")


class LeadIn(BaseModel):
    name: str = Field(max_length=_TEXT)
    model: str = Field(max_length=_TEXT)
    position: str = Field("", max_length=_TEXT)
    device: int = Field(0, ge=0, le=16, description="index of the stimulator in ``placed``")


class ProcedureIn(BaseModel):
    kind: Literal["implant", "trial", "revision", "replacement", "explant"]
    performed_on: date
    placed: list[DeviceIn] = Field(default_factory=list, max_length=16)
    removed: list[str] = Field(default_factory=list, max_length=16)
    leads: list[LeadIn] = Field(default_factory=list, max_length=16)
    notes: str = Field("", max_length=_TEXT)
    patient_version: int = Field(ge=1, le=VERSION_MAX)


class ComplicationIn(BaseModel):
    code: ComplicationCode
    occurred_on: date
    device_id: str | None = Field(None, max_length=64)
    notes: str = Field("", max_length=_TEXT)
    patient_version: int = Field(ge=1, le=VERSION_MAX)


class RegistryPage(BaseModel):
    total: int
    offset: int
    limit: int
    patients: list[PatientSummary]


class RegisteredDeviceOut(BaseModel):
    id: str
    kind: str
    model: str
    serial: str
    implanted_on: str
    removed_on: str | None
    length: QuantityOut | None
    tip_level: str | None
    volume: QuantityOut | None
    udi: str
    pocket_side: str | None


class RegisteredLeadOut(BaseModel):
    id: str
    device_id: str
    name: str
    model: str
    position: str


class ProcedureOut(BaseModel):
    id: str
    kind: str
    performed_on: str
    placed: list[str]
    removed: list[str]
    by: str


class ComplicationOut(BaseModel):
    id: str
    code: str
    occurred_on: str
    device_id: str | None
    notes: str


class RegistrationOut(BaseModel):
    """The patient's registration; ``version`` is what writes name as ``patient_version``."""

    id: str
    mrn: str
    name: str
    version: int
    date_of_birth: str | None
    sex: str | None
    contact: str
    diagnoses: list[str]
    devices: list[RegisteredDeviceOut]
    leads: list[RegisteredLeadOut]
    procedures: list[ProcedureOut]
    complications: list[ComplicationOut]


def device_json(d: Device, x: DeviceDetails | None) -> dict[str, Any]:
    return {
        "id": d.id, "kind": d.kind.value, "model": d.model, "serial": d.serial,
        "implanted_on": d.implanted_on.isoformat(),
        "removed_on": d.removed_on.isoformat() if d.removed_on else None,
        "length": ucum_json(d.implanted_length, "cm") if d.implanted_length is not None else None,
        "tip_level": d.tip_level,
        "volume": ucum_json(d.volume, "mL") if d.volume is not None else None,
        "udi": x.udi if x else "", "pocket_side": x.pocket_side.value if x and x.pocket_side
        else None,
    }  # fmt: skip


def registration_json(f: PatientFile) -> dict[str, Any]:
    p, d = f.patient, f.details
    return {
        "id": p.id, "mrn": p.mrn, "name": p.display_name, "version": p.version,
        "date_of_birth": d.date_of_birth.isoformat() if d else None,
        "sex": d.sex.value if d else None, "contact": d.contact if d else "",
        "diagnoses": [x.label() for x in d.diagnoses] if d else [],
        "devices": [device_json(dev, x) for dev, x in f.devices],
        "leads": [{"id": x.id, "device_id": x.device_id, "name": x.name, "model": x.model,
                   "position": x.position} for x in f.leads],
        "procedures": [{"id": x.id, "kind": x.kind.value,
                        "performed_on": x.performed_on.isoformat(), "placed": list(x.placed),
                        "removed": list(x.removed), "by": x.by} for x in f.procedures],
        "complications": [{"id": x.id, "code": x.code.value,
                           "occurred_on": x.occurred_on.isoformat(), "device_id": x.device_id,
                           "notes": x.notes} for x in f.complications],
    }  # fmt: skip


def known(patient_id: str, svc: ClinicServices[Any] = Depends(services)) -> str:
    """``patient_id`` when it is a patient; 404 before the body is looked at."""
    known_patient(svc, patient_id)
    return patient_id


def _patient_raw(body: PatientIn) -> dict[str, object]:
    return {"mrn": body.mrn, "name": body.name, "date_of_birth": body.date_of_birth,
            "sex": body.sex, "contact": body.contact, "diagnoses": body.diagnoses}  # fmt: skip


@router.post("/patients", status_code=201, response_model=RegistrationOut,
             responses=responses(401, 403, 413, 422))  # fmt: skip
def register(body: PatientIn, user: User = Depends(writer),
             svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Register a new patient (the MRN must be new). 403 for a viewer."""
    reg = svc.registration
    try:
        made = reg.register(actor=user, entry=reg.patient_input(_patient_raw(body)))
    except InputError as exc:
        raise write_refused(exc) from None
    return registration_json(reg.patient_file(patient_id=made.patient.id))


@router.get("/registry", response_model=RegistryPage, responses=responses(401, 422))
def registry(
    q: str = Query("", max_length=200, description="part of the MRN, name or id"),
    limit: int = Query(50, ge=1, le=PAGE_MAX), offset: int = Query(0, ge=0, le=VERSION_MAX),
    _: User = Depends(api_user), svc: ClinicServices[Any] = Depends(services),
) -> dict[str, Any]:  # fmt: skip
    """Patients whose MRN, name or id contains ``q`` (case-insensitive), by MRN, one page."""
    try:
        page = svc.registration.search(query=q, limit=limit, offset=offset)
    except InputError as exc:
        raise input_error(exc) from None
    return {"total": page.total, "offset": offset, "limit": limit,
            "patients": [{"id": p.id, "mrn": p.mrn, "name": p.display_name,
                          "version": p.version} for p in page.patients]}  # fmt: skip


@router.get("/patients/{patient_id}/registration", response_model=RegistrationOut,
            responses=responses(401, 404))  # fmt: skip
def registration(patient_id: str, _: User = Depends(api_user),
                 svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """The patient's registration, devices (UDI, pocket side), leads, procedures and
    complications."""
    try:
        return registration_json(svc.registration.patient_file(patient_id=patient_id))
    except InputError as exc:
        raise input_error(exc) from None


@router.put("/patients/{patient_id}/registration", response_model=RegistrationOut,
            responses=responses(401, 403, 404, 409, 413, 422))  # fmt: skip
def update(body: PatientUpdateIn, user: User = Depends(writer),
           patient_id: str = Depends(known),
           svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Replace the registration, computed from ``patient_version`` (409 when it changed)."""
    reg = svc.registration
    try:
        reg.update(actor=user, patient_id=patient_id, version=body.patient_version,
                   entry=reg.patient_input(_patient_raw(body)))  # fmt: skip
    except InputError as exc:
        raise write_refused(exc) from None
    return registration_json(reg.patient_file(patient_id=patient_id))


@router.post("/patients/{patient_id}/procedures", status_code=201,
             response_model=RegistrationOut,
             responses=responses(401, 403, 404, 409, 413, 422))  # fmt: skip
def procedure(body: ProcedureIn, user: User = Depends(writer),
              patient_id: str = Depends(known),
              svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Record a procedure: ``placed`` devices put in, ``removed`` device ids taken out on
    ``performed_on`` (a replacement does both), leads of a placed stimulator; one
    transaction. 422 names the field (``placed[1].length``), nothing is written."""
    reg = svc.registration
    try:
        placed = []
        for i, d in enumerate(body.placed):
            raw = d.model_dump(exclude={"length"})
            if d.length is not None:
                raw["length"] = quantity(d.length, f"placed[{i}].length", Dimension.LENGTH)
            placed.append(reg.device_input(raw, f"placed[{i}]"))
        reg.procedure(
            actor=user, patient_id=patient_id, kind=ProcedureKind(body.kind),
            performed_on=body.performed_on, placed=placed, removed=body.removed,
            leads=[LeadInput(x.name, x.model, x.position, x.device) for x in body.leads],
            notes=body.notes, patient_version=body.patient_version,
        )  # fmt: skip
    except InputError as exc:
        raise write_refused(exc) from None
    return registration_json(reg.patient_file(patient_id=patient_id))


@router.post("/patients/{patient_id}/complications", status_code=201,
             response_model=RegistrationOut,
             responses=responses(401, 403, 404, 409, 413, 422))  # fmt: skip
def complication(body: ComplicationIn, user: User = Depends(writer),
                 patient_id: str = Depends(known),
                 svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Record a complication (not in the future; ``other`` needs its notes)."""
    reg = svc.registration
    try:
        reg.complication(actor=user, patient_id=patient_id,
                         code=body.code, occurred_on=body.occurred_on,
                         device_id=body.device_id, notes=body.notes,
                         patient_version=body.patient_version)  # fmt: skip
    except InputError as exc:
        raise write_refused(exc) from None
    return registration_json(reg.patient_file(patient_id=patient_id))
