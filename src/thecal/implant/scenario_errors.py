"""Scenario file errors worded for the flat file format, not for pydantic's union variants.

Faults and actions are discriminated unions (one model per ``kind``), so pydantic names errors
by variant (``faults.0.disconnect.fraction: extra``). A file's author wrote one table with a
``kind`` key; :func:`readable_errors` words the errors as for that table: "'fraction' is not
used by kind = 'disconnect'", "kind = 'occlusion' needs 'fraction'", one error at a time for
keys that depend on the kind (after any error in the values themselves).
"""

import typing
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

_NEEDS_HINT = {("mri", "duration"): " (the scan time, e.g. '1 h')"}


def _variants(union: Any) -> dict[str, type[BaseModel]]:
    """``kind`` tag -> model, for each member of a union."""
    return {
        typing.get_args(m.model_fields["kind"].annotation)[0]: m for m in typing.get_args(union)
    }


def _value_errors(variants: dict[str, type[BaseModel]], key: str, value: Any) -> list[Any]:
    """A value's own errors, for a key this kind does not use (they come first, as before)."""
    model = next(m for m in variants.values() if key in m.model_fields)
    info = model.model_fields[key]
    try:
        kind = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        TypeAdapter(kind).validate_python(value)  # type: ignore[arg-type]
    except ValidationError as exc:
        return [dict(e, loc=(key, *e["loc"])) for e in exc.errors()]
    return []


def _value_error(loc: tuple[int | str, ...], message: str, value: Any) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=value)


def readable_errors(union: Any, name: str, keys: tuple[str, ...]) -> WrapValidator:
    """Validate one entry of ``union``; word its errors for the flat file format."""
    variants = _variants(union)
    kinds = list(variants)
    one_of = ", ".join(f"'{k}'" for k in kinds[:-1]) + f" or '{kinds[-1]}'"

    def translate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            errors = _translated(value, exc)
            raise ValidationError.from_exception_data(exc.title, errors) from None

    def _translated(value: Any, exc: ValidationError) -> list[InitErrorDetails]:
        kind = value.get("kind") if isinstance(value, dict) else None
        fields: list[InitErrorDetails] = []
        unused: list[str] = []
        needs: list[str] = []
        for e in exc.errors():
            loc = tuple(e["loc"])
            if e["type"] == "union_tag_not_found":
                fields.append(InitErrorDetails(type="missing", loc=("kind",), input=value))
                continue
            if e["type"] == "union_tag_invalid":
                msg = f"got {kind!r} (expected {one_of})"
                fields.append(_value_error(("kind",), msg, kind))
                continue
            if e["type"] == "model_attributes_type":
                msg = f"Input should be a valid dictionary or instance of {name}"
                fields.append(_value_error((), msg, value))
                continue
            loc = loc[1:] if loc and loc[0] == kind else loc  # drop the variant's tag
            key = loc[0] if len(loc) == 1 else None
            if e["type"] == "extra_forbidden" and key in keys:
                unused.append(str(key))
                fields.extend(_value_errors(variants, str(key), e["input"]))
            elif e["type"] == "extra_forbidden" and key is not None:
                fields.append(
                    _value_error(
                        loc, f"unknown key (expected one of: {', '.join(keys)})", e["input"]
                    )
                )
            elif e["type"] == "missing" and key is not None:
                needs.append(str(key))
            else:
                fields.append(
                    InitErrorDetails(
                        type=e["type"], loc=loc, input=e["input"], ctx=e.get("ctx", {})
                    )
                )
        if fields:
            return fields
        if unused:
            return [_value_error((), f"'{min(unused)}' is not used by kind = '{kind}'", value)]
        key = min(needs)
        hint = _NEEDS_HINT.get((str(kind), key), "")
        return [_value_error((), f"kind = '{kind}' needs '{key}'{hint}", value)]

    return WrapValidator(translate)


__all__ = ["readable_errors"]
