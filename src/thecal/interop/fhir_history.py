"""The record-json extension that carries each clinical-history record through FHIR, and what
an import needs to take it back (docs/fhir.md, "History").

R4 has no element for much of what Thecal records of a refill, an interrogation, an alarm or a
stimulator program (the pump's whole status snapshot and event log, the refill-by candidates,
who acknowledged an alarm). So each history record's *anchor* resource (the refill Procedure,
the interrogation DiagnosticReport, the alarm Flag, …) carries the Thecal record itself as
canonical JSON in the extension :data:`EXT_RECORD`, as a MedicationRequest carries its plan in
``plan-json``. The import decodes the record from the extension, with the clinic's own strict
checks, writes it, then exports the patient again and requires the same resources as the
Bundle: a standard element edited without the extension (or the other way round) is refused,
never half-believed.

The payload is a JSON object ``{"kind": …, "v": 1, …the record's fields…}``. Its times are
written as the export writes every dateTime (:data:`~thecal.interop.fhir_record.Stamp`, the
clinic's zone), its quantities as ``{"value": number, "unit": UCUM code}``.
"""

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, Final

import pint

from thecal.clinic.ports import ClinicRepository
from thecal.clinic.stimulator_workflow import StimulatorContext
from thecal.devices.catalog import DeviceCatalog
from thecal.interop import fhir_codes as c
from thecal.therapy.library import DrugLibrary
from thecal.units import Dimension, InputError, parse_quantity, to_ucum

EXT_RECORD: Final = f"{c.BASE}/StructureDefinition/record-json"
VERSION: Final = 1

Resource = Mapping[str, Any]


@dataclass(frozen=True)
class Catalogs:
    """The importing clinic's drug library and device catalogs (models must be known)."""

    library: DrugLibrary
    catalog: DeviceCatalog
    stimulation: StimulatorContext | None


@dataclass(frozen=True)
class Context:
    """What a history decoder may check a record against: the patient being imported, the
    devices and leads of the Bundle (id → kind value, e.g. "pump", "lead"), the prescription
    versions of the Bundle, the catalogs, the clinic's zone and today, and the ids of the
    Bundle's devices that were removed (``removed``: history, kept with the model recorded
    then; none by default)."""

    patient_id: str
    devices: Mapping[str, str]
    prescription_versions: frozenset[int]
    cats: Catalogs
    zone: tzinfo | None
    today: date
    removed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class HistoryKind:
    """One kind of history record: its payload ``name`` (``"refill"``), the type of its anchor
    resource, the strict decoder (payload, the field name of the extension for errors, the
    context → record; InputError naming the payload's field), the repository write and the
    record's time (writes go in time order)."""

    name: str
    resource_type: str
    decode: Callable[[Mapping[str, Any], str, Context], Any]
    write: Callable[[ClinicRepository, Any], None]
    at: Callable[[Any], datetime]


def attach(resource: dict[str, Any], kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Add the record-json extension to ``resource`` (in place; returned): the canonical JSON
    (sorted keys, no spaces) of ``{"kind": kind, "v": VERSION, **fields}``."""
    text = json.dumps({"kind": kind, "v": VERSION, **fields}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, allow_nan=False)  # fmt: skip
    resource.setdefault("extension", []).append({"url": EXT_RECORD, "valueString": text})
    return resource


def payload_of(r: Resource) -> dict[str, Any] | None:
    """The record-json payload of ``r`` (None when it has none). InputError, naming the
    resource's extension, when it is not a JSON object of a known version (no NaN/Infinity)."""
    values = [x.get("valueString") for x in r.get("extension", []) or []
              if isinstance(x, Mapping) and x.get("url") == EXT_RECORD]  # fmt: skip
    if not values:
        return None
    where = f"{r.get('resourceType', '?')}/{r.get('id', '?')}.extension(record-json)"
    if len(values) > 1 or not isinstance(values[0], str):
        raise InputError(where, "more than one, or not a string", "one JSON string")

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number")

    try:
        data = json.loads(values[0], parse_constant=no_constant)
    except ValueError as exc:
        raise InputError(where, f"not JSON ({exc})", "the record as Thecal exports it") from None
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise InputError(where, "not a record", 'a JSON object with "kind"')
    if data.get("v") != VERSION:
        raise InputError(f"{where}.v", f"got {data.get('v')!r}", f"version {VERSION}")
    return data


def q_out(q: pint.Quantity | None) -> dict[str, Any] | None:
    """A quantity as the payload writes it: ``{"value": number, "unit": UCUM code}``."""
    if q is None:
        return None
    value = float(q.magnitude)
    if not math.isfinite(value):
        raise ValueError(f"{q} is not finite")
    return {"value": int(value) if value.is_integer() else value, "unit": to_ucum(q)}


def q_in(data: Mapping[str, Any], key: str, where: str, dimension: Dimension, *,
         required: bool = True, allow_negative: bool = False) -> pint.Quantity | None:  # fmt: skip
    """The payload's quantity ``key`` with the project's strict parser (finite, one number and
    a unit of ``dimension``; negative only with ``allow_negative``); None when absent and not
    ``required``. Errors name ``where.key``."""
    value = data.get(key)
    if value is None:
        if required:
            raise InputError(f"{where}.{key}", "missing", dimension.value[1])
        return None
    return parse_quantity(value, f"{where}.{key}", dimension, allow_negative=allow_negative)


def t_in(data: Mapping[str, Any], key: str, where: str, ctx: Context, *,
         required: bool = True) -> datetime | None:  # fmt: skip
    """The payload's dateTime ``key`` as the clinic's naive local time (in ``ctx.zone``, as
    :func:`thecal.interop.fhir_read.a_time`); None when absent and not ``required``."""
    value = data.get(key)
    if value is None:
        if required:
            raise InputError(f"{where}.{key}", "missing", "a dateTime")
        return None
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        at = None
    if at is None:
        raise InputError(f"{where}.{key}", f"got {value!r}", "a dateTime")
    if at.tzinfo is None:
        return at
    return (at.astimezone(ctx.zone) if ctx.zone is not None else at.astimezone()).replace(
        tzinfo=None
    )
