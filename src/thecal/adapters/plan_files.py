"""Read a TOML plan file into :class:`thecal.therapy.plan_file.PlanFile`.

Every problem becomes one :class:`InputError` whose field is the dotted path a user can find in
the file (``schedule.steps[1].dose``), so the CLI can print a one-line error.
"""

import tomllib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from thecal.therapy.plan_file import PlanFile
from thecal.units import InputError


def load_plan(path: Path) -> PlanFile:
    """Parse and validate the plan file at ``path``. Raises :class:`InputError` naming the field
    (or ``plan`` for a missing file or a TOML syntax error, with the line)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InputError("plan", f"file not found: {path}", "a path to a TOML plan file") from exc
    except IsADirectoryError as exc:
        raise InputError("plan", f"{path} is a directory", "a path to a TOML plan file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError("plan", f"{path}: not valid TOML ({exc})", "a TOML plan file") from exc
    return parse_plan(data)


def parse_plan(data: Mapping[str, Any]) -> PlanFile:
    """Validate already-parsed plan data. Raises :class:`InputError` for the first error (the
    message says how many more there are)."""
    try:
        return PlanFile.model_validate(dict(data))
    except ValidationError as exc:
        raise validation_error(exc, PlanFile) from exc


def validation_error(exc: ValidationError, model: type[BaseModel] = PlanFile) -> InputError:
    """The first error of ``exc`` as an :class:`InputError` with a dotted field path."""
    errors = exc.errors()
    first = errors[0]
    error = describe(first, model)
    if len(errors) > 1:
        more = len(errors) - 1
        error = InputError(
            error.field,
            f"{error.message} (and {more} more error{'s' if more > 1 else ''})",
            error.expected,
        )
    return error


def describe(err: ErrorDetails, model: type[BaseModel] = PlanFile) -> InputError:
    """One pydantic error as an :class:`InputError`: ``loc`` becomes ``a.b[1].c``."""
    path = dotted(err["loc"])
    kind = err["type"]
    value = err.get("input")
    message = str(err["msg"]).removeprefix("Value error, ")
    expected: str | None = None
    if "(expected " in message and message.endswith(")"):
        # The quantity validators put the expected form in the message; split it back out.
        message, _, rest = message.partition(" (expected ")
        expected = rest[:-1]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, err["loc"][:-1])
        return InputError(path, "unknown key", "one of: " + ", ".join(allowed) if allowed else None)
    if kind == "missing":
        return InputError(path, "is required", _example(model, err["loc"]))
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        example = _example(model, err["loc"])
        if example:
            return InputError(path, f"the number {value!r} has no unit", example)
        return InputError(path, f"got the number {value!r}", "text")
    if kind == "literal_error":
        return InputError(path, f"got {value!r}", message.removeprefix("Input should be "))
    return InputError(path or "plan", message, expected)


def dotted(loc: Sequence[int | str]) -> str:
    """``('schedule', 'steps', 1, 'dose')`` → ``schedule.steps[1].dose``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _field(model: type[BaseModel], loc: Sequence[int | str]) -> FieldInfo | None:
    """The pydantic field at ``loc`` (list indices skipped), or None."""
    current: Any = model
    info: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        sub = _model_in(current, part)
        if sub is None or part not in sub.model_fields:
            return None
        info = sub.model_fields[part]
        current = info.annotation
    return info


def _model_in(annotation: Any, key: str | None = None) -> type[BaseModel] | None:
    """The first model in ``annotation`` (with the field ``key``, in a union of models)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation if key is None or key in annotation.model_fields else None
    for arg in typing.get_args(annotation):
        found = _model_in(arg, key)
        if found is not None:
            return found
    return None


def _examples_in(annotation: Any) -> list[Any]:
    for arg in typing.get_args(annotation):
        if isinstance(arg, FieldInfo) and arg.examples:
            return list(arg.examples)
        found = _examples_in(arg)
        if found:
            return found
    return []


def _example(model: type[BaseModel], loc: Sequence[int | str]) -> str | None:
    info = _field(model, loc)
    if info is None:
        return None
    examples = list(info.examples or []) or _examples_in(info.annotation)
    return f"e.g. {examples[0]!r}" if examples else None


def _allowed_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    if not [p for p in loc if isinstance(p, str)]:
        return list(model.model_fields)
    info = _field(model, loc)
    sub = _model_in(info.annotation) if info is not None else None
    return list(sub.model_fields) if sub is not None else []


__all__ = ["describe", "dotted", "load_plan", "parse_plan", "validation_error"]
