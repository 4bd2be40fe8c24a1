"""Strict readers of record-json payload fields for the stimulator and assessment kinds (the
quantities and times are :mod:`thecal.interop.fhir_history`'s ``q_in`` and ``t_in``): each
value of the expected JSON type, text within its storage bound, the device one of the Bundle
of the right kind, stored findings with known codes. Every error is an InputError naming the
payload's field (``Observation/….extension(record-json).values[0].contact``)."""

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

from thecal.clinic.model import StoredFinding
from thecal.clinic.registration import text
from thecal.interop.fhir_history import Context, t_in
from thecal.therapy.findings import Code, Level, Overrider
from thecal.units import InputError

E = TypeVar("E", bound=StrEnum)

WHO_MAX: Final = 80
"""Characters of a user name (author, by, closed_by): the store's String(80) columns."""
FINDING_TEXT_MAX: Final = 2000
"""Characters of a finding's message or source (a storage bound, not a clinical limit)."""
FINDING_SHORT_MAX: Final = 200
"""Characters of a finding's drug, limit and value texts (display texts with units)."""
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # a FHIR id: the record id is the resource id
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # line breaks and tabs allowed


def only(data: Mapping[str, Any], where: str, allowed: Collection[str]) -> None:
    """Refuse a key the kind does not have (besides ``kind`` and ``v``): nothing is ignored."""
    extra = sorted(set(data) - set(allowed) - {"kind", "v"})
    if extra:
        raise InputError(f"{where}.{extra[0]}", "is not a field of this record",
                         ", ".join(sorted(allowed)))  # fmt: skip


def record_id(data: Mapping[str, Any], where: str) -> str:
    value = data.get("id")
    if not isinstance(value, str) or not _ID.match(value):
        raise InputError(f"{where}.id", f"got {value!r}", "the record's Thecal id")
    return value


def one_line(data: Mapping[str, Any], key: str, where: str, limit: int, *,
             required: bool = True) -> str:  # fmt: skip
    """One-line text (registration's rule: stripped, no control character, ``limit`` allowed)."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InputError(f"{where}.{key}", f"got {value!r}", "text")
    return text(value, f"{where}.{key}", required=required, limit=limit)


def free_text(data: Mapping[str, Any], key: str, where: str, limit: int, *,
              required: bool) -> str:  # fmt: skip
    """Text that may hold line breaks (a reason, a note): stripped as the workflow stores it,
    no other control character, at most ``limit`` characters (``limit`` allowed)."""
    value = data.get(key, None if required else "")
    if not isinstance(value, str):
        raise InputError(f"{where}.{key}", "missing" if value is None else f"got {value!r}",
                         "text")  # fmt: skip
    s = value.strip()
    if required and not s:
        raise InputError(f"{where}.{key}", "is required", "a value")
    if _CONTROL.search(s):
        raise InputError(f"{where}.{key}", "contains a control character", "text")
    if len(s) > limit:
        raise InputError(f"{where}.{key}", f"is {len(s)} characters long", f"at most {limit}")
    return s


def boolean(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise InputError(f"{where}.{key}", f"got {value!r}", "true or false")
    return value


def whole(data: Mapping[str, Any], key: str, where: str, minimum: int) -> int:
    """A JSON integer (not a boolean, not 1.0) of at least ``minimum`` (allowed)."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{where}.{key}", f"got {value!r}", f"a whole number ≥ {minimum}")
    return value


def choice(data: Mapping[str, Any], key: str, where: str, kind: type[E]) -> E:
    value = data.get(key)
    allowed = [k.value for k in kind]
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{where}.{key}", f"got {value!r}", ", ".join(allowed))
    return kind(value)


def device(data: Mapping[str, Any], key: str, where: str, ctx: Context,
           kinds: Collection[str], *, required: bool = True) -> str | None:  # fmt: skip
    """The id of a device of the Bundle whose kind is one of ``kinds`` (DeviceKind values)."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or value not in ctx.devices:
        raise InputError(f"{where}.{key}", f"no Device/{value} in the Bundle",
                         "a device of the Bundle")  # fmt: skip
    if ctx.devices[value] not in kinds:
        raise InputError(f"{where}.{key}", f"Device/{value} is a {ctx.devices[value]}",
                         " or ".join(sorted(kinds)))  # fmt: skip
    return value


def when(data: Mapping[str, Any], key: str, where: str, ctx: Context) -> datetime:
    """The required dateTime ``key`` (``t_in``) on or before the importing clinic's today
    (today allowed): no workflow stores a record in the future."""
    at = t_in(data, key, where, ctx)
    if at is None:  # t_in refuses a missing required time; this narrows the type
        raise InputError(f"{where}.{key}", "missing", "a dateTime")
    if at.date() > ctx.today:
        raise InputError(f"{where}.{key}", f"{at} is in the future", f"on or before {ctx.today}")
    return at


def when_optional(data: Mapping[str, Any], key: str, where: str, ctx: Context) -> datetime | None:
    """``when`` for a time that may be absent (None)."""
    return None if data.get(key) is None else when(data, key, where, ctx)


def findings_out(found: Sequence[StoredFinding]) -> list[dict[str, Any]]:
    return [{"level": f.level.value, "code": f.code, "message": f.message, "source": f.source,
             "drug": f.drug, "limit": f.limit, "value": f.value, "override_by": f.override_by}
            for f in found]  # fmt: skip


def findings_in(data: Mapping[str, Any], key: str, where: str) -> tuple[StoredFinding, ...]:
    """Stored findings kept as recorded: a known level and finding code (this version's
    :class:`~thecal.therapy.findings.Code`), message and source, who may give a reason."""
    items = data.get(key, [])
    if not isinstance(items, list):
        raise InputError(f"{where}.{key}", f"got {items!r}", "a list of findings")
    out = []
    for i, f in enumerate(items):
        at = f"{where}.{key}[{i}]"
        if not isinstance(f, Mapping):
            raise InputError(at, f"got {f!r}", "a finding")
        only(f, at, ("level", "code", "message", "source", "drug", "limit", "value",
                     "override_by"))  # fmt: skip
        by = f.get("override_by")
        if by is not None and by not in {o.value for o in Overrider}:
            raise InputError(f"{at}.override_by", f"got {by!r}", "physician or clinician")
        short = {k: one_line(f, k, at, FINDING_SHORT_MAX, required=False) or None
                 for k in ("drug", "limit", "value")}  # fmt: skip
        out.append(StoredFinding(
            choice(f, "level", at, Level), choice(f, "code", at, Code).value,
            one_line(f, "message", at, FINDING_TEXT_MAX),
            one_line(f, "source", at, FINDING_TEXT_MAX),
            short["drug"], short["limit"], short["value"], by,
        ))  # fmt: skip
    return tuple(out)


def overrides_in(data: Mapping[str, Any], key: str, where: str,
                 found: Sequence[StoredFinding]) -> tuple[tuple[str, str], ...]:  # fmt: skip
    """The reasons given, ``[[code, reason], …]``: each for a soft finding of the record (the
    workflow keeps no other), once."""
    items = data.get(key, [])
    if not isinstance(items, list):
        raise InputError(f"{where}.{key}", f"got {items!r}", "a list of [code, reason]")
    soft = {f.code for f in found if f.level is Level.SOFT}
    out: list[tuple[str, str]] = []
    for i, pair in enumerate(items):
        at = f"{where}.{key}[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise InputError(at, f"got {pair!r}", "[code, reason]")
        code = pair[0]
        if code not in soft or code in {c for c, _ in out}:
            raise InputError(at, f"{code!r} is not a soft finding of this record, or twice",
                             "a reason for each soft finding")  # fmt: skip
        out.append((code, free_text({"reason": pair[1]}, "reason", at, FINDING_TEXT_MAX,
                                    required=True)))  # fmt: skip
    return tuple(out)
