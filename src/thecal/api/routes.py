"""``/api/v1``: patients, calendar, worklist, refill and program-change workflows.

Authentication is the same signed session cookie as the web app (``POST /api/v1/login``);
writes also need the session's CSRF token in the ``X-CSRF-Token`` header. Bad input → 422
``{"detail": [{"field", "message", "expected"}]}`` with the clinic's field names; quantities
are ``{"value", "unit"}`` with UCUM units. An unknown patient or record → 404.

Every write names the patient version it was computed from (``patient_version``, from
``GET /api/v1/patients/{id}``): missing → 422, someone else wrote for the patient since → 409
and nothing is saved; the client reloads and decides again. (Every write, web or API, moves
the version on, so a web form opened before an API write is refused too.)

The routes live in one module per resource under :mod:`thecal.api.routers` (auth, patients,
interrogations, calendar and worklist, refills, programs, stimulators); each declares its
response model and its error responses (:class:`~thecal.api.errors.ErrorOut`). This module
joins them.
"""

from fastapi import APIRouter

from thecal.api.deps import VERSION_MAX, QuantityIn, api_user, quantity, set_session, writer
from thecal.api.errors import ErrorOut, input_error, throttled
from thecal.api.routers import (
    alarms,
    assessments,
    audit,
    auth,
    calendar,
    fhir,
    implant_links,
    interrogations,
    patients,
    programs,
    refills,
    registration,
    reports,
    stimulators,
    worklist,
)

router = APIRouter(prefix="/api/v1")
for _resource in (auth, patients, interrogations, calendar, refills, programs, stimulators,
                  registration, alarms, audit,
                  implant_links, reports, fhir, assessments, worklist):  # fmt: skip
    router.include_router(_resource.router)

__all__ = [
    "VERSION_MAX",
    "ErrorOut",
    "QuantityIn",
    "api_user",
    "input_error",
    "quantity",
    "router",
    "set_session",
    "throttled",
    "writer",
]
