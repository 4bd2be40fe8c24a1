"""What every page shares: the templates and ``render``, the sign-in dependency, the CSRF and
role checks on forms that write, the hidden patient version, and how a refused write reads
(its status and its message)."""

from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.routing import Match

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.api.context import AppContext, context
from thecal.api.deps import VERSION_MAX, set_session
from thecal.api.security import Session, csrf_ok, new_csrf
from thecal.clinic.calendar import RefillStatus
from thecal.clinic.errors import ConcurrentEditError, PermissionDenied
from thecal.clinic.model import User
from thecal.interop.report_render import level_class as level_class
from thecal.interop.report_render import refill_class as refill_class
from thecal.therapy.findings import OverrideNotAllowed
from thecal.units import InputError, fmt, in_words
from thecal.web.patient_header import PatientHeader, header_for, years

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["NOTICE"] = NOT_A_MEDICAL_DEVICE
TEMPLATES.env.globals["RefillStatus"] = RefillStatus
TEMPLATES.env.filters["q"] = lambda q: fmt(q) if q is not None else "—"
TEMPLATES.env.filters["when"] = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "—"

# The navigation, in order. A link shows only when its page exists in this app, so a helper
# adding a page (patients list, worklist, audit) adds one line here and nothing else.
NAV: tuple[tuple[str, str], ...] = (
    ("Dashboard", "/"), ("Calendar", "/calendar"), ("Patients", "/patients"),
    ("Worklist", "/worklist"), ("Alarms", "/alarms"), ("Implants", "/implants"),
    ("Audit", "/audit"),
)  # fmt: skip

# ``?saved=<key>`` after a successful write (redirect 303) → the message shown. Only these
# keys are shown; any other text in the query is ignored, never echoed.
SAVED: Mapping[str, str] = {
    "refill": "Refill recorded. The next refill date below is from this refill.",
    "program": "Program stored as the new prescription version.",
    "stimulator-program": "Stimulator program stored as a new version.",
    "impedances": "Impedance readings recorded.",
    "battery": "Battery reading recorded.",
    "stimulator-read": "Stimulator read: impedances and battery voltage stored.",
    "assessment": "Assessment recorded.",
    "assessment-closed": "Assessment closed.",
}


def nav_links(request: Request) -> list[tuple[str, str]]:
    """The :data:`NAV` entries whose page is a GET route of this app."""
    routes = request.app.router.routes

    def exists(href: str) -> bool:
        scope = {"type": "http", "path": href, "method": "GET", "root_path": "",
                 "app": request.app}  # fmt: skip
        return any(r.matches(scope)[0] is Match.FULL for r in routes)

    return [(label, href) for label, href in NAV if exists(href)]


def is_current(request: Request, href: str) -> bool:
    """Whether ``href`` is the section of the page shown (for ``aria-current``)."""
    path = request.url.path
    return path == href if href == "/" else path == href or path.startswith(href + "/")


def flash_message(request: Request) -> str | None:
    """The success message named by the ``saved`` query parameter, None for none or unknown."""
    return SAVED.get(request.query_params.get("saved", ""))


def saved_url(path: str, key: str, anchor: str = "") -> str:
    """Where a successful write redirects: ``path`` with the message ``key`` (one of
    :data:`SAVED`) and an optional ``#anchor``."""
    if key not in SAVED:
        raise KeyError(key)
    return f"{path}?saved={key}" + (f"#{anchor}" if anchor else "")


TEMPLATES.env.globals["nav_links"] = nav_links
TEMPLATES.env.globals["is_current"] = is_current
TEMPLATES.env.globals["flash_message"] = flash_message


def patient_header(request: Request, patient_id: str) -> PatientHeader | None:
    """The patient header (``_patient_header.html``) of ``patient_id`` on this app's clinic."""
    return header_for(request.app.state.ctx, patient_id)


TEMPLATES.env.globals["patient_header"] = patient_header

# Internal keys a person may see (alarm codes, snapshot fields): their words for them.
LABELS: Mapping[str, str] = {
    "low_reservoir_threshold": "low-reservoir alarm volume",
    "reservoir_estimate": "reservoir estimate",
    "eri_at": "elective replacement indicator",
    "eos_at": "end of service",
}


def human(key: object) -> str:
    """A key as a person reads it: its :data:`LABELS` entry, else underscores as spaces."""
    text = str(key)
    return LABELS.get(text, text.replace("_", " "))


TEMPLATES.env.globals["refill_class"] = refill_class
TEMPLATES.env.filters["human"] = human
TEMPLATES.env.filters["level_class"] = level_class
TEMPLATES.env.filters["dwell"] = years


def form_version(form: Mapping[str, str]) -> int:
    """The patient version a confirmation form was built from (its hidden ``version``)."""
    text = form.get("version", "").strip()
    if not (0 < len(text) <= 10 and text.isascii() and text.isdigit()):
        raise InputError("patient.version", "is missing or not a version number",
                         "the form's hidden version: reload the form")  # fmt: skip
    version = int(text)
    if not 1 <= version <= VERSION_MAX:
        raise InputError("patient.version", f"{version} is out of range", "reload the form")
    return version


def write_status(exc: Exception) -> int:
    """A refused write's status: 409 when someone else wrote for the patient first."""
    return 409 if isinstance(exc, ConcurrentEditError) else 422


def refusal(exc: PermissionDenied | OverrideNotAllowed) -> str:
    """The form message when the clinic refuses the user (not the input)."""
    return exc.message if isinstance(exc, PermissionDenied) else str(exc)


class LoginRequired(Exception):
    pass


def page_user(request: Request, ctx: AppContext = Depends(context)) -> User:
    user = ctx.user_of(request)
    if user is None:
        raise LoginRequired()
    return user


def render(request: Request, ctx: AppContext, name: str, status: int = 200,
           **values: Any) -> HTMLResponse:  # fmt: skip
    """Render ``name``; an anonymous visitor gets a session holding a CSRF token."""
    session = ctx.session_of(request) or Session(None, new_csrf())
    values.setdefault("user", ctx.user_of(request))
    if isinstance(values.get("error"), str):  # pages pass str(InputError): the field in words
        values["error"] = in_words(values["error"])
    response = TEMPLATES.TemplateResponse(
        request, name, {"csrf": session.csrf, **values}, status_code=status
    )
    if ctx.session_of(request) is None:
        set_session(response, ctx, session)
    return response


def check_csrf(request: Request, ctx: AppContext, token: str) -> None:
    if not csrf_ok(ctx.session_of(request), token):
        raise HTTPException(403, "missing or wrong CSRF token: reload the form")


def check_write(request: Request, ctx: AppContext, user: User, token: str, action: str) -> None:
    """Every form that writes: a valid CSRF token. Whether ``user`` may ``action`` is the
    clinic services' decision (:class:`PermissionDenied`, shown as 403 by the page)."""
    check_csrf(request, ctx, token)


async def write_form(request: Request, ctx: AppContext, user: User, action: str) -> dict[str, str]:
    """The submitted form as text fields, after :func:`check_write`."""
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items()}
    check_write(request, ctx, user, form.get("csrf", ""), action)
    return form


_TITLES = {
    400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
    405: "Not allowed here", 409: "Changed by someone else", 413: "Too large",
    422: "Cannot use this input", 429: "Too many attempts",
}  # fmt: skip
_PLAIN = {
    404: "there is no page at this address",
    405: "this address does not take this kind of request",
}


def error_page(request: Request, status: int, message: str,
               headers: Mapping[str, str] | None = None) -> HTMLResponse:  # fmt: skip
    """A web route's error as an HTML page (with the banner every page has), never raw JSON."""
    if message == HTTPStatus(status).phrase:  # the framework's bare "Not Found": say what it means
        message = _PLAIN.get(status, message)
    message = in_words(message)  # an InputError's field path reads as words
    ctx: AppContext = request.app.state.ctx
    session = ctx.session_of(request)
    user = ctx.user_of(request) if session is not None else None
    values = {"csrf": session.csrf if session else "", "user": user, "status": status,
              "title": _TITLES.get(status, "Error"), "message": message}  # fmt: skip
    return TEMPLATES.TemplateResponse(request, "error.html", values, status_code=status,
                                      headers=dict(headers or {}))  # fmt: skip
