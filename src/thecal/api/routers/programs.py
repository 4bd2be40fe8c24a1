"""``POST /api/v1/patients/{id}/program``: a new prescription version through the safety gate,
written to the pump over its implant link first when the pump has one (as the program page)."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from thecal.adapters.plan_files import validation_error
from thecal.api.context import services
from thecal.api.deps import VERSION_MAX, writer
from thecal.api.errors import input_error, responses, write_refused
from thecal.api.routers.refills import known_patient
from thecal.api.schemas import ProgramOut
from thecal.clinic.implant_link_model import DeliveryOutcome
from thecal.clinic.model import Device, StoredFinding, User
from thecal.clinic.program_delivery import ProgramNotRecorded, ProgramWriter
from thecal.clinic.services import ClinicServices
from thecal.therapy.findings import Finding, OverrideError
from thecal.therapy.plan import PlanFile
from thecal.units import InputError

router = APIRouter(tags=["programs"])

ProgramLinks = Callable[[Device, bool | None], ProgramWriter | None]
"""``app.state.program_links``: the writer of a pump's program over its registered link for a
patient (opioid-naive or not), None when the pump has no link. Set by the web app, which
owns the links; absent: no pump is reachable."""

NOT_PROGRAMMED = (
    "The record changed, but the pump was NOT programmed: this implant has no registered "
    "link. Program it with the clinician programmer, then interrogate."
)


class ProgramIn(BaseModel):
    plan: dict[str, Any]
    reason: str
    overrides: dict[str, str] = Field(default_factory=dict)
    patient_version: int = Field(ge=1, le=VERSION_MAX)


def _findings(findings: tuple[Finding, ...] | list[Finding]) -> list[dict[str, Any]]:
    return [StoredFinding.of(f).to_json() for f in findings]


@router.post("/patients/{patient_id}/program", status_code=201, response_model=ProgramOut,
             response_model_exclude_unset=True,
             responses={**responses(401, 403, 404, 409, 413, 422),
                        202: {"model": ProgramOut, "description": "Sent to the pump, no "
                              "confirmation came back (delivery: uncertain): the record is "
                              "unchanged; interrogate the pump before anything else"}})  # fmt: skip
def program(patient_id: str, body: ProgramIn, request: Request, user: User = Depends(writer),
            svc: ClinicServices[Any] = Depends(services)) -> Any:  # fmt: skip
    """Store a new prescription version through the safety gate, computed from
    ``patient_version`` (409 when the patient changed since). 403 when the user may not: a
    viewer, a nurse outside the current prescription's bounds, or a reason only a physician
    may give (the clinic service decides, in the write's transaction); 409 for a hard finding
    or a missing reason.

    When the patient's pump has a registered implant link, the program is written to the pump
    first (stage, read back, verify, commit) and the record changes only when the pump
    confirmed it: ``delivery`` "confirmed" (201, the new version); "refused" (409 with this
    body: nothing changed on the pump or in the record, ``findings`` the pump's own);
    "uncertain" (202: the acknowledgement was lost, the record unchanged, interrogate). Without
    a link the record changes and the pump does not: "not-programmed" (201). A pump that
    confirmed a program the record then refused is 409 (interrogate and record its program)."""
    known_patient(svc, patient_id)
    try:
        plan = PlanFile.model_validate(body.plan)
    except ValidationError as exc:
        raise input_error(validation_error(exc).at("plan")) from None
    record = svc.patient_record(patient_id=patient_id)
    pump = svc.pump_in_place(patient_id=patient_id)
    links: ProgramLinks | None = getattr(request.app.state, "program_links", None)
    write = links(pump, record.patient.opioid_naive) if links and pump else None
    try:
        if write is None:
            out = svc.change_program(actor=user, patient_id=patient_id, plan=plan,
                                     reason=body.reason, overrides=body.overrides,
                                     patient_version=body.patient_version)  # fmt: skip
            return {"version": out.prescription.version, "findings": _findings(out.findings),
                    "delivery": "not-programmed", "delivery_detail": NOT_PROGRAMMED}  # fmt: skip
        delivered = svc.implant_links.program(
            actor=user, patient_id=patient_id, plan=plan, reason=body.reason, write=write,
            overrides=body.overrides, patient_version=body.patient_version)  # fmt: skip
    except ProgramNotRecorded as exc:
        raise HTTPException(409, input_error(exc).detail) from None
    except (InputError, OverrideError) as exc:
        raise write_refused(exc) from None
    pumped = delivered.write
    if delivered.program is not None:  # confirmed and recorded
        return {"version": delivered.program.prescription.version,
                "findings": _findings(delivered.program.findings),
                "delivery": pumped.outcome.value, "delivery_detail": pumped.detail}  # fmt: skip
    # Refused or uncertain: the record unchanged (the delivery is stored).
    rx = record.prescription
    out_body = ProgramOut.model_validate({
        "version": rx.version if rx else None, "findings": _findings(pumped.device_findings),
        "delivery": pumped.outcome.value, "delivery_detail": pumped.detail,
    })  # fmt: skip
    status = 409 if pumped.outcome is DeliveryOutcome.REFUSED else 202
    return JSONResponse(out_body.model_dump(mode="json"), status)
