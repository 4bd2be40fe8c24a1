"""Strict readers of the fields of a record-json payload (docs/fhir.md, "History"), shared
by the history decoders: unknown fields refused; text with a length limit (the database
column's, or a storage bound on free text) and no control characters (free text may hold line
breaks); whole numbers that are not bools; devices and prescription versions checked against
the Bundle (:class:`~thecal.interop.fhir_history.Context`); stored findings. Every error names
the payload's field: ``Type/id.extension(record-json).field``.
"""

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import pint

from thecal.clinic.model import DeviceKind, StoredFinding
from thecal.interop.fhir_history import Context, q_in, t_in
from thecal.interop.fhir_record import Stamp
from thecal.therapy.findings import Level
from thecal.units import Dimension, InputError

Payload = Mapping[str, Any]

# Column widths of the clinic database (thecal.store.schema); free text (Text columns) gets a
# storage bound against a runaway file, not a clinical limit.
ID_MAX: Final = 32
BY_MAX: Final = 80
CODE_MAX: Final = 64
LEVEL_MAX: Final = 20
SHORT_MAX: Final = 200
FREE_MAX: Final = 4000

ANY_DEVICE: Final = frozenset(k.value for k in DeviceKind)
_ID = re.compile(r"^[A-Za-z0-9\-.]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def fields(data: Payload, where: str, required: Collection[str], optional: Collection[str] = ()
           ) -> None:  # fmt: skip
    """Refuse a payload with an unknown field or without a required one."""
    known = {"kind", "v", *required, *optional}
    for key in sorted(set(data) - known):
        raise InputError(f"{where}.{key}", "unknown field", ", ".join(sorted(known)))
    for key in required:
        if data.get(key) is None:
            raise InputError(f"{where}.{key}", "missing", "a value")


def s_in(data: Payload, key: str, where: str, limit: int, *, required: bool = True,
         multiline: bool = False) -> str | None:  # fmt: skip
    """Text as it is (not stripped: the record is kept exactly), at most ``limit`` characters,
    no control characters (``multiline``: line breaks allowed)."""
    value = data.get(key)
    if value is None:
        if required:
            raise InputError(f"{where}.{key}", "missing", "text")
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}.{key}", f"got {type(value).__name__}", "text")
    if len(value) > limit:
        raise InputError(f"{where}.{key}", f"is {len(value)} characters long",
                         f"at most {limit}")  # fmt: skip
    if (_CONTROL_BUT_NEWLINE if multiline else _CONTROL).search(value):
        raise InputError(f"{where}.{key}", "contains a control character",
                         "text with line breaks only" if multiline else "one line")  # fmt: skip
    return value


def req(data: Payload, key: str, where: str, limit: int, *, multiline: bool = False) -> str:
    out = s_in(data, key, where, limit, multiline=multiline)
    assert out is not None  # required
    return out


def record_id(data: Payload, where: str) -> str:
    """The record's id (kept: the FHIR ids derive from it)."""
    value = req(data, "id", where, ID_MAX)
    if not _ID.match(value):
        raise InputError(f"{where}.id", f"got {value!r}", "letters, digits, '-' or '.'")
    return value


def i_in(data: Payload, key: str, where: str, *, required: bool = True) -> int | None:
    """A whole number ≥ 1 (prescription versions); not a bool or a float."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"{where}.{key}", f"got {value!r}", "a whole number 1, 2, …")
    return value


def version_in(data: Payload, key: str, where: str, ctx: Context, *, required: bool = True
               ) -> int | None:  # fmt: skip
    """A prescription version of the Bundle."""
    value = i_in(data, key, where, required=required)
    if value is not None and value not in ctx.prescription_versions:
        raise InputError(f"{where}.{key}", f"no prescription version {value} in the Bundle",
                         "a version of the Bundle's MedicationRequests")  # fmt: skip
    return value


def device_in(data: Payload, key: str, where: str, ctx: Context, kinds: frozenset[str], *,
              required: bool = True) -> str | None:  # fmt: skip
    """The id of a Device of the Bundle whose kind is one of ``kinds``."""
    value = s_in(data, key, where, ID_MAX, required=required)
    if value is None:
        return None
    kind = ctx.devices.get(value)
    if kind is None:
        raise InputError(f"{where}.{key}", f"no Device/{value} in the Bundle",
                         "a device of the Bundle")  # fmt: skip
    if kind not in kinds:
        raise InputError(f"{where}.{key}", f"Device/{value} is a {kind}",
                         " or ".join(sorted(kinds)))  # fmt: skip
    return value


def when(data: Payload, key: str, where: str, ctx: Context) -> datetime:
    out = t_in(data, key, where, ctx)
    assert out is not None  # required
    return out


def volume(data: Payload, key: str, where: str, *, allow_negative: bool = False
           ) -> pint.Quantity:  # fmt: skip
    out = q_in(data, key, where, Dimension.VOLUME, allow_negative=allow_negative)
    assert out is not None  # required
    return out


def items(data: Payload, key: str, where: str) -> list[tuple[str, Any]]:
    """The list ``key`` as (``where.key[i]``, item) pairs (an absent list is empty)."""
    value = data.get(key, [])
    if not isinstance(value, list):
        raise InputError(f"{where}.{key}", f"got {type(value).__name__}", "a list")
    return [(f"{where}.{key}[{i}]", x) for i, x in enumerate(value)]


def obj(value: Any, where: str) -> Payload:
    if not isinstance(value, dict):
        raise InputError(where, f"got {type(value).__name__}", "an object")
    return value


def pairs(data: Payload, key: str, where: str, limits: tuple[int, int]
          ) -> tuple[tuple[str, str], ...]:  # fmt: skip
    """A list of ``[text, text]`` pairs (override reasons, what a delivery sent)."""
    out = []
    for at, x in items(data, key, where):
        if not isinstance(x, list) or len(x) != 2:
            raise InputError(at, f"got {x!r}", "a pair [text, text]")
        pair = {"0": x[0], "1": x[1]}
        out.append((req(pair, "0", at, limits[0]), req(pair, "1", at, limits[1], multiline=True)))
    return tuple(out)


def findings_out(found: Sequence[StoredFinding]) -> list[dict[str, Any]]:
    return [f.to_json() for f in found]


def findings_in(data: Payload, where: str) -> tuple[StoredFinding, ...]:
    """The stored findings (level, stable code, message, source, drug, limit, value and for a
    soft one who may give its reason)."""
    out = []
    for at, x in items(data, "findings", where):
        f = obj(x, at)
        fields(f, at, ("level", "code", "message", "source"),
               ("drug", "limit", "value", "override_by"))  # fmt: skip
        level = req(f, "level", at, LEVEL_MAX)
        if level not in {x.value for x in Level}:
            raise InputError(f"{at}.level", f"got {level!r}", "hard, soft or info")
        override_by = s_in(f, "override_by", at, LEVEL_MAX, required=False)
        if override_by not in (None, "physician", "clinician"):
            raise InputError(f"{at}.override_by", f"got {override_by!r}",
                             "physician or clinician")  # fmt: skip
        out.append(StoredFinding(
            Level(level), req(f, "code", at, CODE_MAX),
            req(f, "message", at, FREE_MAX, multiline=True),
            req(f, "source", at, FREE_MAX, multiline=True),
            s_in(f, "drug", at, SHORT_MAX, required=False),
            s_in(f, "limit", at, SHORT_MAX, required=False),
            s_in(f, "value", at, SHORT_MAX, required=False), override_by,
        ))  # fmt: skip
    return tuple(out)


def overrides_in(data: Payload, where: str) -> tuple[tuple[str, str], ...]:
    return pairs(data, "overrides", where, (CODE_MAX, FREE_MAX))


def t_out(stamp: Stamp, at: datetime | None) -> str | None:
    return None if at is None else stamp(at)
