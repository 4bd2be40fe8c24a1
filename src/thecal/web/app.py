"""Pages: login, dashboard, patient, refill form → confirmation (old vs new) → recorded.
Every form carries the session's CSRF token; every write goes through the clinic workflows,
which audit it with the user and the reason.

This module builds the app: the API, the static files, the middleware and the error handlers,
and the page routers, one module per resource (``pages_auth``, ``pages_calendar``,
``pages_patients``, ``pages_program``, ``pages_interrogate``, ``pages_refill``) sharing
``pages_common``. Their public names are re-exported here."""

from collections.abc import Mapping
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.api.context import AppContext, SessionRefresh
from thecal.api.errors import input_error
from thecal.api.limits import BodyLimit, known_ids
from thecal.api.routes import router
from thecal.api.strict_json import StrictJSON
from thecal.units import InputError
from thecal.web import pages_auth, pages_calendar, pages_program, pages_refill, pages_registration
from thecal.web.api_program_link import program_links
from thecal.web.implants import DatabaseLinks, ImplantLink, implants_from_env
from thecal.web.pages_alarms import router as alarms_router
from thecal.web.pages_assessment import router as assessment_router
from thecal.web.pages_audit import router as audit_router
from thecal.web.pages_calendar import CALENDAR_ROWS, DASHBOARD_ROWS, DASHBOARD_STATUSES, OFFSET_MAX
from thecal.web.pages_common import (
    TEMPLATES,
    LoginRequired,
    check_csrf,
    check_write,
    error_page,
    form_version,
    page_user,
    render,
    write_form,
    write_status,
)
from thecal.web.pages_implant_links import router as implant_links_router
from thecal.web.pages_interrogate import interrogate_router
from thecal.web.pages_patients import patients_router
from thecal.web.pages_program import program_rows
from thecal.web.pages_refill_wizard import refill_wizard_router
from thecal.web.pages_stim_read import stim_read_router
from thecal.web.pages_stimulators import router as stimulators_router
from thecal.web.pages_worklist import router as worklist_router

__all__ = [
    "CALENDAR_ROWS",
    "DASHBOARD_ROWS",
    "DASHBOARD_STATUSES",
    "OFFSET_MAX",
    "TEMPLATES",
    "LoginRequired",
    "check_csrf",
    "check_write",
    "create_app",
    "form_version",
    "page_user",
    "program_rows",
    "render",
    "write_form",
    "write_status",
]


def create_app(ctx: AppContext, implants: Mapping[str, ImplantLink] | None = None) -> FastAPI:
    """The web app and the API on one clinic context. ``implants`` maps an implant serial to
    its telemetry link (default: the links registered in the database, over the deprecated
    ``THECAL_IMPLANTS_FILE`` overlay)."""
    links: Mapping[str, ImplantLink] = (
        dict(implants) if implants is not None else DatabaseLinks(ctx.uow, implants_from_env())
    )
    app = FastAPI(
        title="Thecal clinic API", description=NOT_A_MEDICAL_DEVICE,
        openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
    )  # fmt: skip
    app.state.ctx = ctx
    app.state.program_links = program_links(ctx, links)  # the API's program change
    # Every route: a path id that cannot be a record id is 404 before any query.
    app.router.dependencies.append(Depends(known_ids))
    app.include_router(router, dependencies=[Depends(known_ids)])
    # Vendored htmx (static/README.md): no CDN at run time, and every form works without it.
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(SessionRefresh)  # each signed-in request moves the idle timeout
    app.add_middleware(StrictJSON)  # NaN / Infinity in a JSON body: 422 before any route
    # Outermost (added last): an oversized body is refused before anything reads it.
    app.add_middleware(BodyLimit, limit=ctx.limits.max_request_body_bytes, answer=_refusal)

    @app.exception_handler(LoginRequired)
    def _login(_: Request, __: LoginRequired) -> Response:
        return RedirectResponse("/login", 303)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # The API answers JSON; a page (or an unknown path outside /api/) an HTML page.
        if _is_api(request):
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        return error_page(request, exc.status_code, _text(exc.detail), exc.headers)

    @app.exception_handler(InputError)
    def _clinic_error(request: Request, exc: InputError) -> Response:
        # A safety net: a clinic error a route did not catch is still 404 / 409 / 403 / 422.
        http = input_error(exc)
        if _is_api(request):
            return JSONResponse({"detail": http.detail}, http.status_code)
        return error_page(request, http.status_code, str(exc))

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = [{"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"],
                   "expected": None} for e in exc.errors()]  # fmt: skip
        if _is_api(request):
            return JSONResponse({"detail": detail}, 422)
        return error_page(request, 422, "; ".join(f"{d['field']}: {d['message']}" for d in detail))

    # The pages, in the order they were always declared; each gets known_ids from app.router.
    # HTML only: kept out of the OpenAPI, which lists the JSON API alone.
    # Registration first: /patients/new before the /patients/{patient_id} page.
    pages = (pages_auth.router, pages_calendar.router, pages_registration.router,
             patients_router(links),
             pages_program.program_router(links), interrogate_router(links), pages_refill.router,
             stimulators_router, stim_read_router(links), alarms_router, implant_links_router,
             refill_wizard_router(links), audit_router, worklist_router,
             assessment_router)  # fmt: skip
    for page_router in pages:
        app.include_router(page_router, include_in_schema=False)
    return app


def _refusal(scope: Scope, status: int, message: str) -> Response:
    """A body the edge refused before any route (too large, a bad length): JSON for the API,
    the HTML error page for a page."""
    request = Request(scope)
    if _is_api(request):
        return JSONResponse({"detail": message}, status)
    return error_page(request, status, message)


def _is_api(request: Request) -> bool:
    return request.url.path == "/api/v1" or request.url.path.startswith("/api/")


def _text(detail: object) -> str:
    """An HTTP error's detail as one line for a person (the clinic's field list joined)."""
    if isinstance(detail, list):
        return "; ".join(
            f"{d.get('field')}: {d.get('message')}" if isinstance(d, dict) else str(d)
            for d in detail
        )
    return str(detail)
