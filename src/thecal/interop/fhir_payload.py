"""Strict readers of the fields of a record-json payload (docs/fhir.md, "History"), shared by
every history decoder (pump history, stimulator records, assessments). The stored records are
what the workflows wrote, so an import gives back exactly the record: a value is never altered
(text is not stripped), and a value no workflow would have stored is refused: an unknown
field; text longer than its store column (free text: a storage bound), with a control
character (free text: line breaks and tabs only, as a browser's text area sends them), or
with spaces around it where the workflow strips; a whole number that is a bool or a float; a
device or prescription version that is not the Bundle's; a time after the clinic's today
(except a planned one); an unknown finding code; a reason for a finding that needs none.
Quantities and times go through :mod:`thecal.interop.fhir_history`'s ``q_in`` and ``t_in``.
Every error is an InputError naming the payload's field: ``Type/id.extension(record-json).field``.
"""

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal, TypeVar, overload

import pint
from pydantic import BaseModel, ValidationError

from thecal.clinic.model import DeviceKind, StoredFinding
from thecal.interop.fhir_history import Context, q_in, t_in
from thecal.interop.fhir_record import Stamp
from thecal.therapy.findings import Code, Level, Overrider
from thecal.units import Dimension, InputError

Payload = Mapping[str, Any]
E = TypeVar("E", bound=StrEnum)

# The store's column widths (thecal.store.schema and its siblings). Text columns have none:
# free text gets a storage bound against a runaway file, not a clinical limit.
ID_MAX: Final = 32
"""A record id: the ``id`` columns, String(32)."""
USER_MAX: Final = 80
"""A user name (by, author, cleared_by, acknowledged_by, closed_by): String(80)."""
CODE_MAX: Final = 64
"""An alarm code (alarms.code) or a refill-by candidate's kind: String(64)."""
LOT_MAX: Final = 64
"""A drug lot (refills.drug_lot): String(64)."""
WORD_MAX: Final = 20
"""A level, outcome, kind or source word (alarms.level, link_deliveries.what): String(20)."""
CONTACT_MAX: Final = 48
"""A contact label ("L1:3"): a lead name (leads.name, String(40)) and ":index"."""
SHORT_TEXT_MAX: Final = 200
"""A display text with units inside a JSON column (a finding's drug, limit and value; a
concentration; what a delivery sent): a storage bound."""
TEXT_MAX: Final = 2000
"""Free text in a Text column (a reason, a note, a finding's message and source): the bound
the workflows give their free text (assessment notes, alarm resolutions)."""
JSON_MAX: Final = 1_000_000
"""An interrogation's status or log, as JSON characters: a storage bound."""

ANY_DEVICE: Final = frozenset(k.value for k in DeviceKind)
_ID = re.compile(r"^[A-Za-z0-9\-.]+$")  # a FHIR id: the record id is the resource id
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # \t \n \r allowed


def fields(data: Payload, where: str, required: Collection[str], optional: Collection[str] = ()
           ) -> None:  # fmt: skip
    """Refuse a payload with an unknown field (besides ``kind`` and ``v``: nothing is
    ignored) or without a required one."""
    known = {"kind", "v", *required, *optional}
    for key in sorted(set(data) - known):
        raise InputError(f"{where}.{key}", "is not a field of this record",
                         ", ".join(sorted(known)))  # fmt: skip
    for key in required:
        if data.get(key) is None:
            raise InputError(f"{where}.{key}", "missing", "a value")


@overload
def text(data: Payload, key: str, where: str, limit: int, *, required: Literal[True] = ...,
         multiline: bool = ..., stripped: bool = ...) -> str: ...  # fmt: skip
@overload
def text(data: Payload, key: str, where: str, limit: int, *, required: bool,
         multiline: bool = ..., stripped: bool = ...) -> str | None: ...  # fmt: skip
def text(data: Payload, key: str, where: str, limit: int, *, required: bool = True,
         multiline: bool = False, stripped: bool = False) -> str | None:  # fmt: skip
    """The text ``key`` exactly as it is, at most ``limit`` characters (``limit`` allowed);
    one line without control characters, or (``multiline``) with line breaks and tabs only.
    ``stripped``: the workflow stores it stripped, so spaces around it are refused, and a
    ``required`` one may not be empty (the workflow refuses a blank one). Absent: None, or
    refused when ``required``."""
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
    if (_CONTROL_BUT_BREAKS if multiline else _CONTROL).search(value):
        raise InputError(f"{where}.{key}", "contains a control character",
                         "text with line breaks only" if multiline else "one line")  # fmt: skip
    if stripped and value != value.strip():
        raise InputError(f"{where}.{key}", "has spaces or line breaks around it",
                         "the text as the workflow stored it")  # fmt: skip
    if stripped and required and not value:
        raise InputError(f"{where}.{key}", "is required", "a value")
    return value


@overload
def who(data: Payload, key: str, where: str, *, required: Literal[True] = ...) -> str: ...
@overload
def who(data: Payload, key: str, where: str, *, required: bool) -> str | None: ...
def who(data: Payload, key: str, where: str, *, required: bool = True) -> str | None:
    """A user name: one line, stripped, at most :data:`USER_MAX` characters."""
    return text(data, key, where, USER_MAX, required=required, stripped=True)


def record_id(data: Payload, where: str) -> str:
    """The record's id (kept: the FHIR ids derive from it), at most :data:`ID_MAX`."""
    value = text(data, "id", where, ID_MAX)
    if not _ID.match(value):
        raise InputError(f"{where}.id", f"got {value!r}", "letters, digits, '-' or '.'")
    return value


@overload
def whole(data: Payload, key: str, where: str, *, required: Literal[True] = ...) -> int: ...
@overload
def whole(data: Payload, key: str, where: str, *, required: bool) -> int | None: ...
def whole(data: Payload, key: str, where: str, *, required: bool = True) -> int | None:
    """A version number: a JSON integer ≥ 1 (1 allowed), not a bool and not 1.0."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"{where}.{key}", f"got {value!r}", "a whole number 1, 2, …")
    return value


@overload
def version_in(data: Payload, key: str, where: str, ctx: Context, *,
               required: Literal[True] = ...) -> int: ...  # fmt: skip
@overload
def version_in(data: Payload, key: str, where: str, ctx: Context, *,
               required: bool) -> int | None: ...  # fmt: skip
def version_in(data: Payload, key: str, where: str, ctx: Context, *, required: bool = True
               ) -> int | None:  # fmt: skip
    """A prescription version of the Bundle."""
    value = whole(data, key, where, required=required)
    if value is not None and value not in ctx.prescription_versions:
        raise InputError(f"{where}.{key}", f"no prescription version {value} in the Bundle",
                         "a version of the Bundle's MedicationRequests")  # fmt: skip
    return value


@overload
def device_in(data: Payload, key: str, where: str, ctx: Context, kinds: Collection[str], *,
              required: Literal[True] = ...) -> str: ...  # fmt: skip
@overload
def device_in(data: Payload, key: str, where: str, ctx: Context, kinds: Collection[str], *,
              required: bool) -> str | None: ...  # fmt: skip
def device_in(data: Payload, key: str, where: str, ctx: Context, kinds: Collection[str], *,
              required: bool = True) -> str | None:  # fmt: skip
    """The id of a Device of the Bundle whose kind is one of ``kinds`` (DeviceKind values)."""
    value = text(data, key, where, ID_MAX, required=required)
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


@overload
def when(data: Payload, key: str, where: str, ctx: Context, *,
         required: Literal[True] = ..., planned: bool = ...) -> datetime: ...  # fmt: skip
@overload
def when(data: Payload, key: str, where: str, ctx: Context, *, required: bool,
         planned: bool = ...) -> datetime | None: ...  # fmt: skip
def when(data: Payload, key: str, where: str, ctx: Context, *, required: bool = True,
         planned: bool = False) -> datetime | None:  # fmt: skip
    """The dateTime ``key`` (``t_in``: the clinic's local time). A recorded time is on or
    before the importing clinic's today (today allowed): no workflow stores what happened in
    the future; a ``planned`` one (a refill-by date, a candidate) may be later."""
    at = t_in(data, key, where, ctx, required=required)
    if at is not None and not planned and at.date() > ctx.today:
        raise InputError(f"{where}.{key}", f"{at} is in the future", f"on or before {ctx.today}")
    return at


def volume(data: Payload, key: str, where: str, *, allow_negative: bool = False
           ) -> pint.Quantity:  # fmt: skip
    """A required volume (``q_in``)."""
    out = q_in(data, key, where, Dimension.VOLUME, allow_negative=allow_negative)
    assert out is not None  # required: q_in refuses a missing one
    return out


def boolean(data: Payload, key: str, where: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise InputError(f"{where}.{key}", f"got {value!r}", "true or false")
    return value


def choice(data: Payload, key: str, where: str, kind: type[E]) -> E:
    """One of the values of the enumeration ``kind``."""
    value = data.get(key)
    allowed = [k.value for k in kind]
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{where}.{key}", f"got {value!r}", ", ".join(allowed))
    return kind(value)


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


def pair(value: Any, where: str) -> Payload:
    """A ``[first, second]`` list as ``{"0": first, "1": second}`` for the text readers."""
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(where, f"got {value!r}", "a pair [text, text]")
    return {"0": value[0], "1": value[1]}


def pairs(data: Payload, key: str, where: str, limits: tuple[int, int]
          ) -> tuple[tuple[str, str], ...]:  # fmt: skip
    """A list of ``[text, text]`` pairs (concentrations, what a delivery sent)."""
    out = []
    for at, x in items(data, key, where):
        p = pair(x, at)
        out.append((text(p, "0", at, limits[0]), text(p, "1", at, limits[1], multiline=True)))
    return tuple(out)


def findings_out(found: Sequence[StoredFinding]) -> list[dict[str, Any]]:
    return [f.to_json() for f in found]


def findings_in(data: Payload, where: str) -> tuple[StoredFinding, ...]:
    """The stored ``findings`` kept as recorded: a known level and finding code (this
    version's :class:`~thecal.therapy.findings.Code`), message and source (one line), the
    drug, limit and value texts, and for a soft one who may give its reason."""
    out = []
    for at, x in items(data, "findings", where):
        f = obj(x, at)
        fields(f, at, ("level", "code", "message", "source"),
               ("drug", "limit", "value", "override_by"))  # fmt: skip
        level = choice(f, "level", at, Level)
        by = f.get("override_by")
        if by is not None and (level is not Level.SOFT
                               or by not in [o.value for o in Overrider]):  # fmt: skip
            raise InputError(f"{at}.override_by", f"got {by!r} on a {level.value} finding",
                             "physician or clinician, on a soft finding")  # fmt: skip
        code = f.get("code")
        if code not in [c.value for c in Code]:
            raise InputError(f"{at}.code", f"got {code!r}",
                             "a finding code of this Thecal version")  # fmt: skip
        out.append(StoredFinding(
            level, code,
            text(f, "message", at, TEXT_MAX, stripped=True),
            text(f, "source", at, TEXT_MAX, stripped=True),
            text(f, "drug", at, SHORT_TEXT_MAX, required=False),
            text(f, "limit", at, SHORT_TEXT_MAX, required=False),
            text(f, "value", at, SHORT_TEXT_MAX, required=False), by,
        ))  # fmt: skip
    return tuple(out)


def overrides_in(data: Payload, where: str, found: Sequence[StoredFinding]
                 ) -> tuple[tuple[str, str], ...]:  # fmt: skip
    """The reasons given, ``[[code, reason], …]``: each for a soft finding of the record (the
    workflows keep no other), once; the reason stripped and not empty, as they store it."""
    soft = {f.code for f in found if f.level is Level.SOFT}
    out: list[tuple[str, str]] = []
    for at, x in items(data, "overrides", where):
        p = pair(x, at)
        code = p["0"]
        if not isinstance(code, str) or code not in soft or code in {c for c, _ in out}:
            raise InputError(at, f"{code!r} is not a soft finding of this record, or twice",
                             "a reason for each soft finding")  # fmt: skip
        out.append((code, text(p, "1", at, TEXT_MAX, multiline=True, stripped=True)))
    return tuple(out)


def t_out(stamp: Stamp, at: datetime | None) -> str | None:
    return None if at is None else stamp(at)


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], value: Any, where: str, expected: str) -> M:
    """``value`` (a JSON text, or a decoded object) read with the pydantic ``model``; the
    first error as an InputError naming ``where`` and the field's path."""
    try:
        if isinstance(value, str):
            return model.model_validate_json(value)
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(x) for x in first["loc"])
        raise InputError(f"{where}.{path}" if path else where, str(first["msg"]),
                         expected) from None  # fmt: skip
