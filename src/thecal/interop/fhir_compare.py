"""The import's last check (docs/fhir.md, "History"): the patient as imported, exported again,
must give the Bundle's resources back, resource by resource (type and id). A resource missing,
extra or different is refused with the first differing element, e.g.
``Observation/x-withdrawn.valueQuantity.value: 12 in the Bundle, 11.5 from its record``.

DateTimes are compared as instants: a Bundle exported in UTC and imported in another zone is
the same record (every aware timestamp inside a string, the record-json payload and
narratives included, is read in UTC). The one exception is a bolus the implant logged: its
time is the implant's wall clock and is compared as such. The record-json payload is compared
field by field, so an error names the payload's field
(``Flag/x.extension(record-json).resolution``).
"""

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from thecal.interop.fhir_history import EXT_RECORD
from thecal.units import InputError

Resource = Mapping[str, Any]

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


def _utc(match: re.Match[str]) -> str:
    try:
        return datetime.fromisoformat(match.group(0)).astimezone(UTC).isoformat()
    except ValueError:  # not a real time (month 13): compared as written
        return match.group(0)


def _instants(value: Any) -> Any:
    """``value`` with every aware timestamp inside its strings written in UTC."""
    if isinstance(value, str):
        return _STAMP.sub(_utc, value)
    if isinstance(value, Mapping):
        return {k: _instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_instants(v) for v in value]
    return value


def _wall_clock(r: Resource) -> Resource:
    """A bolus the implant logged is on the implant's clock, a wall-clock time the export
    stamps in the clinic's zone (docs/fhir.md): compared as that wall-clock time, so a Bundle
    exported in one zone imports in another."""
    logged = r.get("resourceType") == "MedicationAdministration" and any(
        isinstance(x, Mapping) and str(x.get("reference", "")).startswith("DiagnosticReport/")
        for x in r.get("supportingInformation", []) or []
    )
    at = r.get("effectiveDateTime")
    if not logged or not isinstance(at, str):
        return r
    try:
        wall = datetime.fromisoformat(at).replace(tzinfo=None).isoformat()
    except ValueError:
        return r
    return {**r, "effectiveDateTime": f"{wall} (implant clock)"}


def _key(r: Resource) -> str:
    return f"{r.get('resourceType', '?')}/{r.get('id', '?')}"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else "none"
    return text if len(text) <= 120 else text[:117] + "..."


def _payload(ext: Any) -> Any:
    """The parsed record-json of an extension entry (else the entry as it is)."""
    if isinstance(ext, Mapping) and ext.get("url") == EXT_RECORD:
        try:
            return json.loads(str(ext.get("valueString")))
        except ValueError:
            return ext
    return ext


def _first_difference(a: Any, b: Any, path: str) -> tuple[str, Any, Any] | None:
    """The first element path where ``a`` (the Bundle) and ``b`` (from the record) differ."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for k in sorted(set(a) | set(b)):
            found = _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else k)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            step = f"{path}[{i}]"
            if path.endswith("extension") and (_payload(x) is not x or _payload(y) is not y):
                x, y, step = _payload(x), _payload(y), f"{path}(record-json)"
            found = _first_difference(x, y, step)
            if found is not None:
                return found
        return None
    # A bool is not a number here (True == 1 in Python); 12 and 12.0 are the same number.
    if a != b or isinstance(a, bool) != isinstance(b, bool):
        return path, a, b
    return None


def check_same(bundle: Iterable[Resource], again: Iterable[Resource]) -> None:
    """Raise InputError at the first resource of ``bundle`` missing from ``again`` (the
    imported record exported again) or different from it, else at the first one ``again``
    has and the Bundle lacks."""
    ours = {_key(r): r for r in again}
    seen: set[str] = set()
    for r in bundle:
        key = _key(r)
        seen.add(key)
        other = ours.get(key)
        if other is None:
            raise InputError(key, "is in the Bundle but no record of the import gives it back: "
                             "history of a kind this clinic does not import (--without-history "
                             "imports the rest without the history), or a resource edited or "
                             "added by hand", "the resources Thecal exports")  # fmt: skip
        found = _first_difference(_instants(_wall_clock(r)), _instants(_wall_clock(other)), "")
        if found is not None:
            path, a, b = found
            raise InputError(f"{key}.{path}", f"{_shown(a)} in the Bundle, {_shown(b)} from "
                             "its record", "the Bundle's elements as its records give them"
                             )  # fmt: skip
    for key in ours:
        if key not in seen:
            raise InputError(key, "the Bundle's records give this resource but the Bundle "
                             "does not hold it", "every resource of the records, as "
                             "exported")  # fmt: skip
