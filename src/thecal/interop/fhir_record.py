"""The small value helpers every FHIR builder shares (ids, references, times, UCUM
quantities); one patient's record (:class:`PatientData`, read in one transaction) comes from
:mod:`thecal.clinic.patient_record`."""

import hashlib
import re
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from typing import Any

import pint

from thecal.clinic.patient_record import PatientData as PatientData
from thecal.clinic.patient_record import read_patient as read_patient
from thecal.interop import fhir_codes as c
from thecal.interop.fhir_codes import UCUM
from thecal.units import to_ucum

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR R4 id datatype


def fid(*parts: str) -> str:
    """A FHIR id from Thecal ids (joined by "-"); a digest when the result would not be one
    (too long or other characters), so every id stays stable for the same record."""
    joined = "-".join(parts)
    if _ID.match(joined):
        return joined
    return hashlib.sha256(joined.encode()).hexdigest()[:40]


def ref(resource_type: str, *parts: str) -> dict[str, str]:
    """A reference to a resource in the same Bundle."""
    return {"reference": f"{resource_type}/{fid(*parts)}"}


Stamp = Callable[[datetime], str]


def stamp_in(zone: tzinfo | None) -> Stamp:
    """Clinic times are local and naive; FHIR requires a zone on a dateTime with a time. With
    ``zone`` the local time is taken in that zone (daylight saving applied per instant), None:
    in the machine's own zone (an adapter may read it)."""

    def stamp(at: datetime) -> str:
        aware = at.replace(tzinfo=zone) if zone is not None else at.astimezone()
        return aware.isoformat()

    return stamp


def day(d: date) -> str:
    return d.isoformat()


def quantity(q: pint.Quantity, unit: str | None = None) -> dict[str, Any]:
    """A FHIR Quantity with its UCUM code (``unit`` converts first, a pint unit string)."""
    q = q.to(unit) if unit else q
    code = to_ucum(q)
    return {"value": _number(float(q.magnitude)), "unit": code, "system": UCUM, "code": code}


def _number(x: float) -> float | int:
    # 12 significant digits: stable JSON across float noise from unit conversion.
    rounded = float(f"{x:.12g}")
    return int(rounded) if rounded.is_integer() else rounded


def per(q: pint.Quantity) -> dict[str, Any]:
    """A FHIR Ratio of a rate or a concentration: ``1.5 mg/d`` → 1.5 mg per 1 d. The time base
    (or the volume) is explicit in the denominator (docs/fhir.md)."""
    code = to_ucum(q)
    top, _, bottom = code.partition("/")
    value = _number(float(q.magnitude))
    return {
        "numerator": {"value": value, "unit": top, "system": UCUM, "code": top},
        "denominator": {"value": 1, "unit": bottom, "system": UCUM, "code": bottom},
    }


def observation(
    oid: str, code: str, patient_id: str, at: str, device_id: str | None
) -> dict[str, Any]:
    """An Observation of a Thecal ``code`` (:data:`~thecal.interop.fhir_codes.OBS`) at ``at``."""
    out: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": c.concept(c.OBSERVATION_CODES, code, c.OBS[code]),
        "subject": ref("Patient", patient_id),
        "effectiveDateTime": at,
    }
    if device_id:
        out["device"] = ref("Device", device_id)
    return out
