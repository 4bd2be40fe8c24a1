"""``/api/v1/patients/{id}/stimulators``: a patient's stimulators (leads, current program with
per-contact charge, impedance history with rolling means, battery outlook, findings), and
``POST .../stimulators/{device_id}/impedances`` to record one impedance set."""

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from thecal.api.context import services
from thecal.api.deps import VERSION_MAX, QuantityIn, api_user, quantity, writer
from thecal.api.errors import input_error, responses, write_refused
from thecal.api.routers.refills import known_patient
from thecal.api.schemas import FindingOut, QuantityOut
from thecal.clinic.model import StoredFinding, User
from thecal.clinic.services import ClinicServices
from thecal.clinic.stimulator_model import ContactImpedance, MeasurementSource
from thecal.clinic.stimulator_workflow import StimulatorSummary
from thecal.units import Dimension, InputError
from thecal.units.ucum import ucum_json

router = APIRouter(tags=["stimulators"])

MAX_CONTACTS = 64  # product choice: the open IPG has 16 contacts; 64 leaves room for 4 leads


class LeadOut(BaseModel):
    name: str
    model: str
    implanted_on: str
    position: str


class ContactChargeOut(BaseModel):
    """One contact at the programmed amplitude: current share, charge per phase, charge
    density per phase and Shannon k (None: no charge)."""

    area: str
    contact: str
    polarity: str
    current: QuantityOut
    charge: QuantityOut
    density: QuantityOut
    k: float | None


class ProgramVersionOut(BaseModel):
    version: int
    author: str
    reason: str
    created_at: datetime
    findings: list[FindingOut]
    overrides: dict[str, str]


class ImpedancePointOut(BaseModel):
    at: datetime
    impedance: QuantityOut
    rolling_mean: QuantityOut


class ContactTrendOut(BaseModel):
    """``open_circuits``: when the contact read as an open circuit (not in ``points``);
    ``open_now``: its latest reading was one."""

    contact: str
    points: list[ImpedancePointOut]
    open_circuits: list[datetime]
    open_now: bool


class BatteryOut(BaseModel):
    """``eos_*``: the projected end of service (dates; null when not projected)."""

    kind: str | None
    latest_at: datetime | None
    latest_voltage: QuantityOut | None
    latest_percent: QuantityOut | None
    drain: QuantityOut | None
    eos_earliest: str | None
    eos_nominal: str | None
    eos_latest: str | None
    typical_end: str | None
    recharges: int


class StimulatorOut(BaseModel):
    device_id: str
    model: str
    serial: str
    implanted_on: str
    removed_on: str | None
    leads: list[LeadOut]
    programs: list[ProgramVersionOut]
    contacts: list[ContactChargeOut]
    impedance: list[ContactTrendOut]
    battery: BatteryOut
    findings: list[FindingOut]


class StimulatorsOut(BaseModel):
    stimulators: list[StimulatorOut]


class ContactImpedanceIn(BaseModel):
    """``open_circuit``: read as open (above the measurable range); ``impedance`` may then be
    omitted, else it is required."""

    contact: str = Field(min_length=1, max_length=40)
    impedance: QuantityIn | None = None
    open_circuit: bool = False


class ImpedancesIn(BaseModel):
    values: list[ContactImpedanceIn] = Field(min_length=1, max_length=MAX_CONTACTS)
    source: Literal["interrogation", "manual"] = "manual"
    at: datetime | None = None
    patient_version: int = Field(ge=1, le=VERSION_MAX)


class ImpedanceSetOut(BaseModel):
    id: str
    at: datetime
    source: str
    values: list[dict[str, Any]]


def _q(q: Any) -> dict[str, Any] | None:
    return None if q is None else ucum_json(q)


def stimulator_json(s: StimulatorSummary) -> dict[str, Any]:
    """One stimulator summary as the API's JSON (UCUM quantities)."""
    b = s.battery
    contacts = [
        {"area": a.area.name, "contact": c.contact.label, "polarity": c.contact.polarity.value,
         "current": _q(c.current), "charge": _q(c.charge), "density": _q(c.density), "k": c.k}
        for a in (s.check.areas if s.check else ()) for c in a.programmed
    ]  # fmt: skip
    return {
        "device_id": s.device.id, "model": s.device.model, "serial": s.device.serial,
        "implanted_on": s.device.implanted_on.isoformat(),
        "removed_on": s.device.removed_on.isoformat() if s.device.removed_on else None,
        "leads": [{"name": x.name, "model": x.model, "implanted_on": x.implanted_on.isoformat(),
                   "position": x.position} for x in s.leads],
        "programs": [{"version": v.version, "author": v.author, "reason": v.reason,
                      "created_at": v.created_at, "findings": [f.to_json() for f in v.findings],
                      "overrides": dict(v.overrides)} for v in s.programs],
        "contacts": contacts,
        "impedance": [{"contact": t.contact, "points": [
            {"at": p.at, "impedance": _q(p.impedance), "rolling_mean": _q(p.mean)}
            for p in t.points], "open_circuits": list(t.open_circuits),
            "open_now": t.open_now} for t in s.trends],
        "battery": {
            "kind": b.kind.value if b.kind else None,
            "latest_at": b.latest.at if b.latest else None,
            "latest_voltage": _q(b.latest.voltage) if b.latest else None,
            "latest_percent": _q(b.latest.percent) if b.latest else None,
            "drain": _q(b.drain.slope) if b.drain else None,
            "eos_earliest": b.earliest.isoformat() if b.earliest else None,
            "eos_nominal": b.nominal.isoformat() if b.nominal else None,
            "eos_latest": b.latest_eos.isoformat() if b.latest_eos else None,
            "typical_end": b.typical_end.isoformat() if b.typical_end else None,
            "recharges": b.recharges,
        },
        "findings": [StoredFinding.of(f).to_json() for f in s.findings],
    }  # fmt: skip


@router.get("/patients/{patient_id}/stimulators", response_model=StimulatorsOut,
            responses=responses(401, 404))  # fmt: skip
def stimulators(patient_id: str, _: User = Depends(api_user),
                svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Every stimulator of the patient (in place first): leads, program versions, the current
    program's per-contact charge, impedance history with the rolling mean per contact,
    battery outlook and findings. Quantities ``{"value", "unit"}`` in UCUM."""
    try:
        found = svc.stimulator_summary(patient_id=patient_id)
    except InputError as exc:
        raise input_error(exc) from None
    return {"stimulators": [stimulator_json(s) for s in found]}


@router.post("/patients/{patient_id}/stimulators/{device_id}/impedances", status_code=201,
             response_model=ImpedanceSetOut,
             responses=responses(401, 403, 404, 409, 413, 422))  # fmt: skip
def impedances(patient_id: str, device_id: str, body: ImpedancesIn,
               user: User = Depends(writer),
               svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Record one impedance set (each contact once, every value above zero — omitted only for
    an open circuit —, ``at`` not in the future; default now), computed from
    ``patient_version`` (409 when the patient changed since). 403 for a viewer; 404 for an
    unknown patient or stimulator."""
    known_patient(svc, patient_id)
    try:
        values = [ContactImpedance(v.contact, None if v.impedance is None else
                                   quantity(v.impedance, f"impedances.values[{i}].impedance",
                                            Dimension.IMPEDANCE), v.open_circuit)
                  for i, v in enumerate(body.values)]  # fmt: skip
        out = svc.record_impedance_set(
            actor=user, patient_id=patient_id, device_id=device_id, values=values,
            source=MeasurementSource(body.source), at=body.at,
            patient_version=body.patient_version,
        )  # fmt: skip
    except InputError as exc:
        raise write_refused(exc) from None
    return {"id": out.id, "at": out.at, "source": out.source.value,
            "values": [{"contact": v.contact, "impedance": _q(v.impedance),
                        "open_circuit": v.open_circuit} for v in out.values]}  # fmt: skip
