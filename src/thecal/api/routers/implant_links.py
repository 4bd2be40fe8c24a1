"""``/api/v1/implant-links``: the implants' telemetry links (address and key id, never the
key), and ``PUT /api/v1/implant-links/{serial}`` for a physician to register or change one
with the clinician key file's JSON document."""

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from thecal.adapters.link_keys import key_fingerprint, parse_clinician_key
from thecal.api.context import services
from thecal.api.deps import api_user, writer
from thecal.api.errors import input_error, responses, write_refused
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.implant_link_model import ImplantLinkRecord
from thecal.clinic.model import User
from thecal.clinic.services import ClinicServices
from thecal.units import InputError

router = APIRouter(tags=["implant links"])


class ImplantLinkOut(BaseModel):
    serial: str
    device_id: str
    patient_id: str
    address: str
    key_id: str
    by: str
    at: datetime


class ImplantLinkIn(BaseModel):
    address: str = Field(max_length=300, description="HOST:PORT (127.0.0.1 only)")
    key_file: dict[str, Any] = Field(description="the clinician key file's JSON document")
    reason: str = Field(max_length=2000)


def _out(r: ImplantLinkRecord) -> dict[str, Any]:
    return {"serial": r.serial, "device_id": r.device_id, "patient_id": r.patient_id,
            "address": str(r.address), "key_id": r.key_id, "by": r.by, "at": r.at}  # fmt: skip


@router.get("/implant-links", response_model=list[ImplantLinkOut], responses=responses(401))
def implant_links(
    _: User = Depends(api_user), svc: ClinicServices[Any] = Depends(services)
) -> list[dict[str, Any]]:
    """Every registered link of an implant in place, by serial (no key)."""
    return [_out(r) for r in svc.implant_links.list()]


@router.put("/implant-links/{serial}", response_model=ImplantLinkOut,
            responses=responses(401, 403, 404, 413, 422))  # fmt: skip
def set_implant_link(serial: str, body: ImplantLinkIn, user: User = Depends(writer),
                     svc: ClinicServices[Any] = Depends(services)) -> dict[str, Any]:  # fmt: skip
    """Register or change the link of the implant in place with ``serial``: a physician's
    decision (403 otherwise), audited with ``reason``; the key is stored, never returned."""
    try:
        key = parse_clinician_key(json.dumps(body.key_file), "key_file")
        record = svc.implant_links.register(actor=user, serial=serial, address=body.address,
                                            key=key.key, key_id=key_fingerprint(key.key),
                                            key_serial=key.serial,
                                            reason=body.reason)  # fmt: skip
    except PermissionDenied as exc:
        raise write_refused(exc) from None
    except InputError as exc:
        raise input_error(exc) from None
    return _out(record)
