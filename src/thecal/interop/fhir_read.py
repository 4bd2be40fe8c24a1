"""Reading FHIR R4 resources back into Thecal records (the import's pure half).

Every resource is first validated with its R4B model of ``fhir.resources`` (structure,
types, cardinality); then each element Thecal takes is checked with the clinic's own checks
(:mod:`thecal.clinic.registration`) and turned into a record. Every error is an
:class:`~thecal.units.InputError` whose field names the resource and the element, e.g.
``Device/abc.type``: what cannot be taken is refused, never guessed.
"""

import math
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

import pint
from pydantic import ValidationError

from thecal.clinic.model import Complication, ComplicationCode, DeviceKind, ProcedureKind
from thecal.clinic.registration import (
    MRN_MAX,
    NAME_MAX,
    SERIAL_MAX,
    TEXT_MAX,
    PocketSide,
    Sex,
    diagnosis,
    text,
    tip_level,
)
from thecal.interop import fhir_codes as c
from thecal.units import Q_, InputError, unit_from_ucum

Resource = Mapping[str, Any]


def where(r: Resource, element: str = "") -> str:
    """The field name of an error: ``Type/id`` and the element path."""
    name = f"{r.get('resourceType', '?')}/{r.get('id', '?')}"
    return f"{name}.{element}" if element else name


def validate(r: Resource) -> None:
    """Structure check with the R4B model of ``r``'s type (fhir.resources)."""
    from fhir.resources.R4B import get_fhir_model_class

    kind = r.get("resourceType")
    try:
        model = get_fhir_model_class(str(kind))
    except (KeyError, ValueError):
        raise InputError(where(r, "resourceType"), f"unknown type {kind!r}",
                         "an R4 resource type") from None  # fmt: skip
    try:
        model.model_validate(r)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise InputError(where(r, path), str(first["msg"]), "a valid FHIR R4 element") from None


def code_in(r: Resource, element: str, concept: Any, system: str) -> str:
    """The code of ``concept``'s coding in ``system`` (error when there is none)."""
    codings = concept.get("coding", []) if isinstance(concept, Mapping) else []
    for coding in codings:
        if coding.get("system") == system and isinstance(coding.get("code"), str):
            return str(coding["code"])
    raise InputError(where(r, element), f"no code of {system}", f"a coding in {system}")


def ref_id(r: Resource, element: str, reference: Any, kind: str) -> str:
    """The id of a ``kind/id`` reference inside the Bundle."""
    value = reference.get("reference") if isinstance(reference, Mapping) else None
    if not isinstance(value, str) or not value.startswith(f"{kind}/"):
        raise InputError(where(r, element), f"got {value!r}", f"a reference {kind}/id")
    return value.removeprefix(f"{kind}/")


def a_date(r: Resource, element: str, value: Any, today: date) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise InputError(where(r, element), f"got {value!r}", "a date YYYY-MM-DD")
    d = date.fromisoformat(value)
    if d > today:
        raise InputError(where(r, element), f"{d} is in the future", f"on or before {today}")
    return d


def a_time(r: Resource, element: str, value: Any, zone: tzinfo | None) -> datetime:
    """A FHIR dateTime as the clinic's naive local time (in ``zone``; None: the machine's)."""
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(where(r, element), f"got {value!r}", "a dateTime") from None
    if at.tzinfo is None:
        return at
    return (at.astimezone(zone) if zone is not None else at.astimezone()).replace(tzinfo=None)


def quantity(r: Resource, element: str, value: Any, unit: str) -> pint.Quantity:
    """A UCUM Quantity from Thecal's allow-list, converted to ``unit`` (a pint unit): a finite
    number (not a bool; Python's json reads NaN and Infinity) and a known UCUM code."""
    mapping = isinstance(value, Mapping)
    code = value.get("code") if mapping else None
    number = value.get("value") if mapping else None
    known = unit_from_ucum(code) if isinstance(code, str) else None
    finite = (isinstance(number, int | float) and not isinstance(number, bool)
              and math.isfinite(number))  # fmt: skip
    if not mapping or value.get("system") != c.UCUM or known is None or not finite:
        raise InputError(where(r, element), f"got {value!r}", f"a UCUM quantity in {unit}")
    try:
        return Q_(float(number), known).to(unit)  # type: ignore[arg-type]  # checked above
    except pint.DimensionalityError:
        raise InputError(where(r, element), f"{code} is not {unit}", unit) from None


def patient(r: Resource, today: date) -> dict[str, Any]:
    """The patient's fields (registration's names) from a Patient resource."""
    mrn = next((i.get("value") for i in r.get("identifier", []) if i.get("system") == c.MRN),
               None)  # fmt: skip
    names = r.get("name", [])
    name = names[0].get("text") if names else None
    out: dict[str, Any] = {
        "id": r["id"],
        "mrn": text(mrn, where(r, "identifier(mrn)"), required=True, limit=MRN_MAX),
        "name": text(name, where(r, "name.text"), required=True, limit=NAME_MAX),
        "opioid_naive": next((x.get("valueBoolean") for x in r.get("extension", [])
                              if x.get("url") == c.EXT_OPIOID_NAIVE), None),
        "contact": "", "sex": None, "date_of_birth": None, "birth_year": None,
    }  # fmt: skip
    for t in r.get("telecom", []):
        out["contact"] = text(t.get("value"), where(r, "telecom"), required=False, limit=TEXT_MAX)
    born = r.get("birthDate")
    if isinstance(born, str) and len(born) == 10:
        out["date_of_birth"] = a_date(r, "birthDate", born, today)
        out["birth_year"] = out["date_of_birth"].year
    elif isinstance(born, str) and len(born) == 4:
        out["birth_year"] = int(born)
    elif born is not None:
        raise InputError(where(r, "birthDate"), f"got {born!r}", "YYYY-MM-DD or YYYY")
    gender = r.get("gender")
    if gender is not None:
        if out["date_of_birth"] is None:
            raise InputError(where(r, "birthDate"), "a sex needs the full date of birth",
                             "YYYY-MM-DD")  # fmt: skip
        out["sex"] = Sex(gender)
    return out


def condition(r: Resource, patient_id: str, today: date) -> tuple[str, Any]:
    """("diagnosis", Diagnosis) or ("complication", Complication)."""
    category = (r.get("category") or [{}])[0].get("text")
    if category == "diagnosis":
        label = r.get("code", {}).get("text")
        return "diagnosis", diagnosis(text(label, where(r, "code.text"), required=True,
                                           limit=TEXT_MAX), where(r, "code.text"))  # fmt: skip
    if category != "complication":
        raise InputError(where(r, "category"), f"got {category!r}", "diagnosis or complication")
    code = code_in(r, "code", r.get("code"), c.COMPLICATION_CODES)
    try:
        kind = ComplicationCode(code)
    except ValueError:
        raise InputError(where(r, "code"), f"unknown complication {code!r}",
                         "a Thecal complication code") from None  # fmt: skip
    device = None
    for e in r.get("evidence", []):
        for d in e.get("detail", []):
            device = ref_id(r, "evidence.detail", d, "Device")
    notes = (r.get("note") or [{}])[0].get("text")
    return "complication", Complication(
        patient_id, kind, a_date(r, "onsetDateTime", r.get("onsetDateTime"), today),
        text(notes, where(r, "note"), required=False, limit=2000), device,
        text(r.get("asserter", {}).get("display"), where(r, "asserter"), required=False,
             limit=200), r["id"],
    )  # fmt: skip


def device(r: Resource) -> dict[str, Any]:
    """A device's fields from a Device resource (dates come from its DeviceUseStatement)."""
    code = code_in(r, "type", r.get("type"), c.DEVICE_KINDS)
    try:
        kind = DeviceKind(code)
    except ValueError:
        raise InputError(where(r, "type"), f"unknown device kind {code!r}",
                         "pump, catheter, trial-pump, stimulator or lead") from None  # fmt: skip
    names = {n.get("type"): n.get("name") for n in r.get("deviceName", [])}
    out: dict[str, Any] = {
        "id": r["id"], "kind": kind,
        "model": text(r.get("modelNumber") or names.get("model-name"), where(r, "modelNumber"),
                      required=True, limit=120),
        "serial": text(r.get("serialNumber"), where(r, "serialNumber"), required=False,
                       limit=SERIAL_MAX),
        "udi": text((r.get("udiCarrier") or [{}])[0].get("carrierHRF"), where(r, "udiCarrier"),
                    required=False, limit=TEXT_MAX),
        "name": names.get("user-friendly-name"),
        "parent": ref_id(r, "parent", r["parent"], "Device") if "parent" in r else None,
        "notes": text((r.get("note") or [{}])[0].get("text"), where(r, "note"),
                      required=False, limit=TEXT_MAX),
        "length": None, "volume": None, "tip_level": None, "pocket_side": None,
    }  # fmt: skip
    for i, p in enumerate(r.get("property", [])):
        at = f"property[{i}]"
        prop = code_in(r, f"{at}.type", p.get("type"), c.DEVICE_PROPERTIES)
        if prop == "implanted-length":
            out["length"] = quantity(r, f"{at}.valueQuantity", p["valueQuantity"][0], "cm")
        elif prop == "volume":
            out["volume"] = quantity(r, f"{at}.valueQuantity", p["valueQuantity"][0], "mL")
        elif prop == "tip-level":
            out["tip_level"] = tip_level(p["valueCode"][0].get("text"), where(r, at))
        elif prop == "pocket-side":
            side = p["valueCode"][0].get("text")
            if side not in {s.value for s in PocketSide}:
                raise InputError(where(r, at), f"got {side!r}", "left, right or midline")
            out["pocket_side"] = PocketSide(side)
        else:
            raise InputError(where(r, f"{at}.type"), f"unknown property {prop!r}",
                             "implanted-length, volume, tip-level or pocket-side")  # fmt: skip
    return out


def procedure_kind(r: Resource) -> str:
    """The Thecal procedure kind of a Procedure (``refill`` or a ProcedureKind value)."""
    code = code_in(r, "code", r.get("code"), c.PROCEDURE_KINDS)
    if code != "refill" and code not in {k.value for k in ProcedureKind}:
        raise InputError(where(r, "code"), f"unknown procedure {code!r}",
                         "implant, trial, revision, replacement, explant or refill")  # fmt: skip
    return code
