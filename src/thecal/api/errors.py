"""How the API answers errors: one error model, the clinic's errors mapped to status codes,
and the ``responses`` each route documents in the OpenAPI."""

from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel

from thecal.api.security import LoginThrottled
from thecal.clinic.errors import ConcurrentEditError, NotFoundError, PermissionDenied
from thecal.therapy.findings import OverrideError, OverrideNotAllowed
from thecal.units import InputError


class FieldError(BaseModel):
    """One refused input: the clinic's field name, what is wrong, what was expected."""

    field: str
    message: str
    expected: str | None = None


class ErrorOut(BaseModel):
    """Every API error: ``detail`` is a message, or the list of refused fields (422, and the
    clinic's 403/404/409)."""

    detail: str | list[FieldError]


_WHAT = {
    401: "Not logged in (POST /api/v1/login), or wrong username or password",
    403: "Missing or wrong CSRF token (X-CSRF-Token), or the user's role may not do this",
    404: "No such patient or record",
    409: "Someone else wrote for the patient since patient_version, a hard finding refuses, "
    "or a soft finding lacks its reason; nothing was saved",
    413: "The request body is larger than the clinic's limit (clinic.toml [web])",
    422: "Invalid input, naming the field",
    429: "Too many failed logins from this address; Retry-After says how long (seconds)",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses ``codes`` of a route, all :class:`ErrorOut`."""
    return {code: {"model": ErrorOut, "description": _WHAT[code]} for code in codes}


def input_error(exc: InputError) -> HTTPException:
    """The clinic's error as HTTP: no such record 404, a concurrent write 409, a role that may
    not 403, anything else the client sent 422 naming the field."""
    body = [{"field": exc.field, "message": exc.message, "expected": exc.expected}]
    if isinstance(exc, NotFoundError):
        return HTTPException(404, body)
    if isinstance(exc, ConcurrentEditError):
        return HTTPException(409, body)
    if isinstance(exc, PermissionDenied):
        return HTTPException(403, body)
    return HTTPException(422, body)


def write_refused(exc: Exception) -> HTTPException:
    """A write the clinic services refused: the role or a physician's reason 403 (a message),
    a hard finding or missing reason 409, any other clinic error as :func:`input_error`."""
    if isinstance(exc, PermissionDenied):
        return HTTPException(403, exc.message)
    if isinstance(exc, OverrideNotAllowed):
        return HTTPException(403, str(exc))
    if isinstance(exc, OverrideError):
        return HTTPException(409, str(exc))
    if isinstance(exc, InputError):
        return input_error(exc)
    raise exc


def throttled(exc: LoginThrottled) -> HTTPException:
    """429 with ``Retry-After`` (seconds) and a message saying how long."""
    return HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)})
