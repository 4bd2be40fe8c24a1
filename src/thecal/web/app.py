"""Pages: login, dashboard, patient, refill form → confirmation (old vs new) → recorded.
Every form carries the session's CSRF token; every write goes through the clinic workflows,
which audit it with the user and the reason."""

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.api.context import AppContext, context
from thecal.api.routes import router, set_session
from thecal.api.security import Session, csrf_ok, new_csrf
from thecal.clinic.calendar import RefillStatus, refill_calendar
from thecal.clinic.model import Role, User
from thecal.clinic.replacement import replacement_plans
from thecal.clinic.workflows import RefillInput, current_prescription, preview_refill, record_refill
from thecal.therapy.findings import Level, OverrideError
from thecal.units import Dimension, InputError, fmt, parse_quantity

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["NOTICE"] = NOT_A_MEDICAL_DEVICE
TEMPLATES.env.filters["q"] = lambda q: fmt(q) if q is not None else "—"
TEMPLATES.env.filters["when"] = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "—"


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
    response = TEMPLATES.TemplateResponse(
        request, name, {"csrf": session.csrf, **values}, status_code=status
    )
    if ctx.session_of(request) is None:
        set_session(response, ctx, session)
    return response


def check_csrf(request: Request, ctx: AppContext, token: str) -> None:
    if not csrf_ok(ctx.session_of(request), token):
        raise HTTPException(403, "missing or wrong CSRF token: reload the form")


def create_app(ctx: AppContext) -> FastAPI:
    """The web app and the API on one clinic context."""
    app = FastAPI(
        title="Thecal clinic API", description=NOT_A_MEDICAL_DEVICE,
        openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
    )  # fmt: skip
    app.state.ctx = ctx
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    def _login(_: Request, __: LoginRequired) -> Response:
        return RedirectResponse("/login", 303)

    @app.exception_handler(RequestValidationError)
    def _invalid(_: Request, exc: RequestValidationError) -> Response:
        detail = [{"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"],
                   "expected": None} for e in exc.errors()]  # fmt: skip
        return JSONResponse({"detail": detail}, 422)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, ctx: AppContext = Depends(context)) -> Response:
        return render(request, ctx, "login.html", error=None)

    @app.post("/login")
    def login(request: Request, username: str = Form(...), password: str = Form(...),
              csrf: str = Form(""), ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        check_csrf(request, ctx, csrf)
        address = request.client.host if request.client else "?"
        try:
            user = ctx.authenticate(username, password, address)
        except HTTPException as exc:
            return render(request, ctx, "login.html", 429, error=exc.detail)
        if user is None:
            return render(request, ctx, "login.html", 401, error="wrong username or password")
        response = RedirectResponse("/", 303)
        set_session(response, ctx, Session(user.username, new_csrf()))  # a fresh session id
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form(""),
               ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        check_csrf(request, ctx, csrf)
        response = RedirectResponse("/login", 303)
        set_session(response, ctx, Session(None, new_csrf()))
        return response

    @app.get("/", response_class=HTMLResponse)
    def dashboard(request: Request, user: User = Depends(page_user),
                  ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        today = ctx.today()
        with ctx.uow.reader() as repo:
            entries = refill_calendar(repo, today, ctx.soon)
            alarms = repo.open_alarms()
            names = {p.id: p.display_name for p in repo.list_patients()}
            specs = {s.model: s for s in ctx.catalog.pumps}
            plans = replacement_plans(repo, specs.get, today, ctx.settings)
        due = [e for e in entries if e.status in (RefillStatus.OVERDUE, RefillStatus.DUE,
                                                   RefillStatus.DUE_SOON)]  # fmt: skip
        return render(request, ctx, "dashboard.html", user=user, today=today, due=due,
                      alarms=alarms, names=names, plans=plans[:10])  # fmt: skip

    @app.get("/patients/{patient_id}", response_class=HTMLResponse)
    def patient_page(patient_id: str, request: Request, user: User = Depends(page_user),
                     ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        try:
            with ctx.uow.reader() as repo:
                p = repo.get_patient(patient_id)
                devices = repo.devices_for(patient_id)
                rx = current_prescription(repo, patient_id)
                refills = repo.refills_for(patient_id)
                timeline: list[tuple[datetime, str, str]] = []
                for pr in repo.procedures_for(patient_id):
                    timeline.append((datetime.combine(pr.performed_on, datetime.min.time()),
                                     f"procedure: {pr.kind.value}", pr.notes))  # fmt: skip
                for ch in repo.program_changes_for(patient_id):
                    timeline.append((ch.at, f"program change v{ch.old_version} → "
                                     f"v{ch.new_version} by {ch.by}", ch.reason))  # fmt: skip
                for a in repo.alarms_for(patient_id):
                    timeline.append((a.raised_at, f"alarm {a.code} ({a.level})", a.message))
                for c in repo.complications_for(patient_id):
                    timeline.append((datetime.combine(c.occurred_on, datetime.min.time()),
                                     f"complication: {c.code.value}", c.notes))  # fmt: skip
        except InputError:
            raise HTTPException(404, "no such patient") from None
        timeline.sort(key=lambda t: t[0], reverse=True)
        return render(request, ctx, "patient.html", user=user, p=p, devices=devices,
                      plan=rx.plan() if rx else None, rx=rx, refills=list(reversed(refills)),
                      timeline=timeline, Level=Level)  # fmt: skip

    def _refill_entry(withdrawn: str, filled: str, drug_lot: str,
                      form: dict[str, str]) -> RefillInput:  # fmt: skip
        if not drug_lot.strip():
            raise InputError("refill.drug_lot", "is required", "the lot number on the vial")
        reasons = {k[len("reason:"):]: v for k, v in form.items()
                   if k.startswith("reason:") and v.strip()}  # fmt: skip
        return RefillInput(
            parse_quantity(withdrawn, "refill.withdrawn", Dimension.VOLUME),
            parse_quantity(filled, "refill.filled", Dimension.VOLUME),
            drug_lot.strip(), overrides=reasons,
        )  # fmt: skip

    @app.get("/patients/{patient_id}/refill", response_class=HTMLResponse)
    def refill_form(patient_id: str, request: Request, user: User = Depends(page_user),
                    ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        with ctx.uow.reader() as repo:
            p = repo.get_patient(patient_id)
        return render(request, ctx, "refill.html", user=user, p=p, error=None, outcome=None,
                      form={"withdrawn": "", "filled": "", "drug_lot": ""})  # fmt: skip

    @app.post("/patients/{patient_id}/refill", response_class=HTMLResponse)
    async def refill_post(patient_id: str, request: Request, user: User = Depends(page_user),
                          ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        raw = await request.form()
        form = {k: str(v) for k, v in raw.items()}
        check_csrf(request, ctx, form.get("csrf", ""))
        if user.role is Role.VIEWER:
            raise HTTPException(403, f"{user.username} (viewer) may not record refills")
        with ctx.uow.reader() as repo:
            p = repo.get_patient(patient_id)
            refills = repo.refills_for(patient_id)
        previous = refills[-1] if refills else None
        values = {k: form.get(k, "") for k in ("withdrawn", "filled", "drug_lot")}
        try:
            entry = _refill_entry(values["withdrawn"], values["filled"], values["drug_lot"],
                                  form)  # fmt: skip
            if form.get("step") != "confirm":
                with ctx.uow.reader() as repo:
                    outcome = preview_refill(repo, ctx.library, ctx.catalog, patient_id, entry,
                                             ctx.clock(), user.username)  # fmt: skip
                return render(request, ctx, "refill.html", user=user, p=p, error=None,
                              outcome=outcome, previous=previous, form=values,
                              reasons=entry.overrides, Level=Level)  # fmt: skip
            record_refill(ctx.uow, ctx.clock, ctx.library, ctx.catalog, user, patient_id,
                          entry, patient_version=int(form.get("version", p.version)))  # fmt: skip
        except (InputError, OverrideError) as exc:
            return render(request, ctx, "refill.html", 422, user=user, p=p, error=str(exc),
                          outcome=None, form=values)  # fmt: skip
        return RedirectResponse(f"/patients/{patient_id}", 303)

    return app
