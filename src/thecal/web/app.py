"""Pages: login, dashboard, patient, refill form → confirmation (old vs new) → recorded.
Every form carries the session's CSRF token; every write goes through the clinic workflows,
which audit it with the user and the reason."""

import json
import tomllib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from thecal import NOT_A_MEDICAL_DEVICE
from thecal.adapters.plan_files import parse_plan
from thecal.api.context import AppContext, SessionRefresh, context
from thecal.api.limits import BodyLimit, known_ids
from thecal.api.routes import VERSION_MAX, input_error, router, set_session
from thecal.api.security import LoginThrottled, Session, csrf_ok, new_csrf
from thecal.api.strict_json import StrictJSON
from thecal.clinic.calendar import RefillStatus, calendar_page
from thecal.clinic.errors import ConcurrentEditError, PermissionDenied
from thecal.clinic.interrogation import read_snapshot, record_interrogation
from thecal.clinic.model import Role, User
from thecal.clinic.program_history import programs_since_fill
from thecal.clinic.replacement import replacement_plans
from thecal.clinic.workflows import (
    RefillInput,
    change_program,
    current_prescription,
    preview_program_change,
    preview_refill,
    pump_in_place,
    record_refill,
)
from thecal.programmer.clinician import ProgrammerError
from thecal.programmer.link_client import AckLost, LinkRefused
from thecal.therapy.delivery import daily_dose
from thecal.therapy.findings import Level, OverrideError, OverrideNotAllowed
from thecal.therapy.plan import PlanFile, resolve
from thecal.therapy.reservoir import Fill
from thecal.units import Dimension, InputError, fmt, parse_quantity
from thecal.web import charts
from thecal.web.implants import ImplantLink, implants_from_env, interrogate, reachable, snapshot

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["NOTICE"] = NOT_A_MEDICAL_DEVICE
TEMPLATES.env.globals["RefillStatus"] = RefillStatus
TEMPLATES.env.filters["q"] = lambda q: fmt(q) if q is not None else "—"
TEMPLATES.env.filters["when"] = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "—"


DASHBOARD_STATUSES = (RefillStatus.OVERDUE, RefillStatus.DUE, RefillStatus.DUE_SOON)
DASHBOARD_ROWS = 25
CALENDAR_ROWS = 50
OFFSET_MAX = 10**9  # more rows than any clinic has; a larger offset is 422, not an overflow


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


def _calendar_query(statuses: Sequence[RefillStatus], offset: int) -> str:
    """The calendar page's query string for ``statuses`` from row ``offset``."""
    return urlencode([("status", s.value) for s in statuses] + [("offset", str(offset))])


def _refusal(exc: PermissionDenied | OverrideNotAllowed) -> str:
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
    """Every form that writes: a valid CSRF token, and a role that may write (not a viewer)."""
    check_csrf(request, ctx, token)
    if user.role is Role.VIEWER:
        raise HTTPException(403, f"{user.username} (viewer) may not {action}")


async def write_form(request: Request, ctx: AppContext, user: User, action: str) -> dict[str, str]:
    """The submitted form as text fields, after :func:`check_write`."""
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items()}
    check_write(request, ctx, user, form.get("csrf", ""), action)
    return form


def program_rows(ctx: AppContext, current: PlanFile | None,
                 proposed: PlanFile) -> list[tuple[str, str, str]]:  # fmt: skip
    """Current and proposed programs side by side: pump, concentrations, schedule, patient
    bolus, alarm threshold and the daily dose per drug (nominal and worst case, mass/d)."""

    def describe(plan: PlanFile | None) -> dict[str, str]:
        if plan is None:
            return {}
        out = {"pump": plan.pump.model,
               "low-reservoir alarm": plan.pump.low_reservoir_alarm or "catalog value"}  # fmt: skip
        for i in plan.admixture:
            out[f"{i.drug} concentration"] = i.concentration
        sched = plan.schedule
        out["schedule"] = sched.mode + (f", dose {sched.dose}" if sched.dose else "") + (
            f", rate {sched.rate}" if sched.rate else "") + (
            f", {len(sched.steps)} steps" if sched.steps else "")  # fmt: skip
        pb = plan.patient_bolus
        out["patient bolus"] = "none" if pb is None else (
            f"{pb.dose or pb.volume}, lockout {pb.lockout}, max {pb.max_per_day}/d")  # fmt: skip
        r = resolve(plan, ctx.library, ctx.catalog)
        d = daily_dose(r.schedule, r.admixture, r.program.patient_bolus)
        out["volume per day (nominal)"] = fmt(d.nominal_volume)
        for drug, q in d.nominal.items():
            out[f"{drug} daily dose (nominal)"] = fmt(q)
        for drug, q in d.worst_case.items():
            out[f"{drug} daily dose (worst case)"] = fmt(q)
        return out

    c, n = describe(current), describe(proposed)
    return [(k, c.get(k, "—"), n.get(k, "—")) for k in dict.fromkeys([*c, *n])]


def create_app(ctx: AppContext, implants: Mapping[str, ImplantLink] | None = None) -> FastAPI:
    """The web app and the API on one clinic context. ``implants`` maps an implant serial to
    its telemetry link (default: the ``THECAL_IMPLANTS_FILE`` mapping)."""
    links = dict(implants) if implants is not None else implants_from_env()
    app = FastAPI(
        title="Thecal clinic API", description=NOT_A_MEDICAL_DEVICE,
        openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
    )  # fmt: skip
    app.state.ctx = ctx
    # Every route: a path id that cannot be a record id is 404 before any query.
    app.router.dependencies.append(Depends(known_ids))
    app.include_router(router, dependencies=[Depends(known_ids)])
    # Vendored htmx (static/README.md): no CDN at run time, and every form works without it.
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(SessionRefresh)  # each signed-in request moves the idle timeout
    app.add_middleware(StrictJSON)  # NaN / Infinity in a JSON body: 422 before any route
    # Outermost (added last): an oversized body is refused before anything reads it.
    app.add_middleware(BodyLimit, limit=ctx.limits.max_request_body_bytes)

    @app.exception_handler(LoginRequired)
    def _login(_: Request, __: LoginRequired) -> Response:
        return RedirectResponse("/login", 303)

    @app.exception_handler(InputError)
    def _clinic_error(_: Request, exc: InputError) -> Response:
        # A safety net: a clinic error a route did not catch is still 404 / 409 / 403 / 422.
        http = input_error(exc)
        return JSONResponse({"detail": http.detail}, http.status_code)

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
        except LoginThrottled as exc:
            refused = render(request, ctx, "login.html", 429, error=str(exc))
            refused.headers["Retry-After"] = str(exc.retry_after)
            return refused
        if user is None:
            return render(request, ctx, "login.html", 401, error="wrong username or password")
        response = RedirectResponse("/", 303)
        set_session(response, ctx, ctx.new_session(user.username))  # a fresh session id
        return response

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form(""),
               ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        check_csrf(request, ctx, csrf)
        ctx.end_session(request)  # a replayed copy of the cookie is refused from now on
        response = RedirectResponse("/login", 303)
        set_session(response, ctx, Session(None, new_csrf()))
        return response

    @app.get("/", response_class=HTMLResponse)
    def dashboard(request: Request, user: User = Depends(page_user),
                  ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        today = ctx.today()
        with ctx.uow.reader() as repo:
            # Counts for the whole clinic, rows for the first page only (100,000 patients).
            page = calendar_page(repo, today, ctx.soon, DASHBOARD_STATUSES, DASHBOARD_ROWS)
            alarms = repo.open_alarms()
            specs = {s.model: s for s in ctx.catalog.pumps}
            plans = replacement_plans(repo, specs, today, ctx.settings, limit=10)
            shown = {a.patient_id for a in alarms} | {r.patient_id for r in plans}
            names = {pid: repo.get_patient(pid).display_name for pid in shown}
        return render(request, ctx, "dashboard.html", user=user, today=today, page=page,
                      alarms=alarms, names=names, plans=plans)  # fmt: skip

    @app.get("/calendar", response_class=HTMLResponse)
    def calendar(request: Request, status: list[RefillStatus] | None = Query(None),
                 offset: int = Query(0, ge=0, le=OFFSET_MAX), user: User = Depends(page_user),
                 ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        chosen = tuple(status) if status else DASHBOARD_STATUSES
        with ctx.uow.reader() as repo:
            page = calendar_page(repo, ctx.today(), ctx.soon, chosen, CALENDAR_ROWS, offset)
        return render(request, ctx, "calendar.html", user=user, page=page, soon=fmt(ctx.soon),
                      query=_calendar_query)  # fmt: skip

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
                # Newest first, like the refill history.
                stored = reversed(repo.interrogations_for(patient_id))
                snapshots = [read_snapshot(i) for i in stored]
                for v in snapshots:
                    timeline.append((v.interrogation.at, f"interrogation of "
                                     f"{v.serial or 'the pump'} by {v.interrogation.by}",
                                     v.summary))  # fmt: skip
                pump = pump_in_place(repo, patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        timeline.sort(key=lambda t: t[0], reverse=True)
        link = reachable(links, pump.serial) if pump is not None else None
        return render(request, ctx, "patient.html", user=user, p=p, devices=devices,
                      plan=rx.plan() if rx else None, rx=rx, refills=list(reversed(refills)),
                      timeline=timeline, Level=Level, reachable=link is not None,
                      pump=pump, interrogations=snapshots)  # fmt: skip

    @app.get("/patients/{patient_id}/interrogations/{interrogation_id}",
             response_class=HTMLResponse)  # fmt: skip
    def interrogation_page(patient_id: str, interrogation_id: str, request: Request,
                           user: User = Depends(page_user),
                           ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """One stored interrogation: the status snapshot, its alarms and the log events read."""
        try:
            with ctx.uow.reader() as repo:
                p = repo.get_patient(patient_id)
                record = repo.get_interrogation(interrogation_id)
        except InputError:
            raise HTTPException(404, "no such patient or interrogation") from None
        if record.patient_id != patient_id:  # another patient's record: not under this URL
            raise HTTPException(404, "no such interrogation for this patient")
        raw = json.dumps({"status": record.status, "log": list(record.log)}, indent=2,
                         sort_keys=True, ensure_ascii=False, default=str)  # fmt: skip
        return render(request, ctx, "interrogation_record.html", user=user, p=p,
                      v=read_snapshot(record), raw=raw)  # fmt: skip

    def _svg(text: str) -> Response:
        return Response(text, media_type="image/svg+xml",
                        headers={"Cache-Control": "no-store"})  # fmt: skip

    @app.get("/patients/{patient_id}/charts/reservoir.svg")
    def reservoir_chart(patient_id: str, _: User = Depends(page_user),
                        ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """The reservoir projection from the last fill under the prescriptions since then."""
        try:
            with ctx.uow.reader() as repo:
                repo.get_patient(patient_id)
                versions = list(repo.prescriptions_for(patient_id))
                refills = list(repo.refills_for(patient_id))
            if not versions:
                raise HTTPException(404, "no prescription")
            resolved = resolve(versions[-1].plan(), ctx.library, ctx.catalog)
            # The last fill: the last recorded refill, else the prescription's [fill].
            last = refills[-1] if refills else None
            fill = Fill(last.filled.to("mL"), last.performed_at) if last else resolved.fill
            if fill is None:
                raise HTTPException(404, "no fill recorded")
            # A titration since the fill changes the slope from then on.
            since = programs_since_fill(
                versions, fill.at, max(fill.at, ctx.clock()), ctx.library, ctx.catalog
            )  # fmt: skip
            projection = charts.reservoir_projection(resolved, fill, ctx.library, since=since)
        except InputError as exc:
            raise HTTPException(404, str(exc)) from None
        return _svg(charts.reservoir_svg(projection))

    @app.get("/patients/{patient_id}/charts/refills.svg")
    def refills_chart(patient_id: str, _: User = Depends(page_user),
                      ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """Expected vs withdrawn per refill, with discrepancy findings marked."""
        try:
            with ctx.uow.reader() as repo:
                repo.get_patient(patient_id)  # an unknown patient is 404, not an empty chart
                refills = list(repo.refills_for(patient_id))
        except InputError as exc:
            raise HTTPException(404, str(exc)) from None
        return _svg(charts.refill_history_svg(refills))

    def _proposed(current: PlanFile, form: dict[str, str]) -> PlanFile:
        """The proposed plan: a whole plan pasted as TOML, else the current one with the
        schedule's dose or rate and the alarm threshold edited."""
        text = form.get("plan_toml", "").strip()
        if text:
            try:
                return parse_plan(tomllib.loads(text))
            except tomllib.TOMLDecodeError as exc:
                raise InputError("plan_toml", f"is not TOML: {exc}", "a plan file") from None
        data = current.model_dump(mode="json", exclude_none=True)
        for key in ("dose", "rate"):
            value = form.get(key, "").strip()
            if value and data["schedule"].get(key) is not None:
                data["schedule"][key] = value
        alarm = form.get("low_reservoir_alarm", "").strip()
        if alarm:
            data["pump"]["low_reservoir_alarm"] = alarm
        return parse_plan(data)

    def _program_values(plan: PlanFile | None) -> dict[str, str]:
        s = plan.schedule if plan else None
        return {"dose": (s.dose or "") if s else "", "rate": (s.rate or "") if s else "",
                "low_reservoir_alarm": (plan.pump.low_reservoir_alarm or "") if plan else "",
                "plan_toml": "", "reason": ""}  # fmt: skip

    @app.get("/patients/{patient_id}/program", response_class=HTMLResponse)
    def program_form(patient_id: str, request: Request, user: User = Depends(page_user),
                     ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        try:
            with ctx.uow.reader() as repo:
                p = repo.get_patient(patient_id)
                rx = current_prescription(repo, patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        plan = rx.plan() if rx else None
        rows = program_rows(ctx, plan, plan) if plan else []
        return render(request, ctx, "program.html", user=user, p=p, rx=rx, plan=plan,
                      rows=rows, error=None, findings=None, form=_program_values(plan),
                      reasons={}, Level=Level)  # fmt: skip

    @app.post("/patients/{patient_id}/program", response_class=HTMLResponse)
    async def program_post(patient_id: str, request: Request, user: User = Depends(page_user),
                           ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        form = await write_form(request, ctx, user, "change programs")
        try:
            with ctx.uow.reader() as repo:
                p = repo.get_patient(patient_id)
                rx = current_prescription(repo, patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        current = rx.plan() if rx else None
        values = {k: form.get(k, "") for k in _program_values(None)}
        reasons = {k[len("reason:"):]: v.strip() for k, v in form.items()
                   if k.startswith("reason:") and v.strip()}  # fmt: skip
        page: dict[str, Any] = {"user": user, "p": p, "rx": rx, "plan": current, "form": values,
                "reasons": reasons, "Level": Level}  # fmt: skip
        if current is None:
            return render(request, ctx, "program.html", 422, rows=[], findings=None,
                          error="the patient has no prescription to change", **page)  # fmt: skip
        try:
            proposed = _proposed(current, values)
            with ctx.uow.reader() as repo:  # the clinic decides who may change what
                preview = preview_program_change(
                    repo, ctx.library, ctx.catalog, patient_id, proposed, ctx.clock(), user
                )
            stored, findings = preview.plan, preview.findings
            rows = program_rows(ctx, current, stored)
            if form.get("step") != "confirm":
                return render(request, ctx, "program.html", rows=rows, findings=findings,
                              error=None, **page)  # fmt: skip
            change_program(ctx.uow, ctx.clock, ctx.library, ctx.catalog, user, patient_id,
                           proposed, values["reason"], reasons,
                           patient_version=form_version(form))  # fmt: skip
        except (PermissionDenied, OverrideNotAllowed) as exc:
            return render(request, ctx, "program.html", 403, rows=[], findings=None,
                          error=_refusal(exc), **page)  # fmt: skip
        except (InputError, OverrideError) as exc:
            return render(request, ctx, "program.html", write_status(exc), rows=[],
                          findings=None, error=str(exc), **page)  # fmt: skip
        return RedirectResponse(f"/patients/{patient_id}", 303)

    @app.post("/patients/{patient_id}/interrogate", response_class=HTMLResponse)
    def interrogate_post(patient_id: str, request: Request, csrf: str = Form(""),
                         user: User = Depends(page_user),
                         ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """Interrogate the patient's implant over the link and store the snapshot."""
        check_write(request, ctx, user, csrf, "interrogate")
        try:
            with ctx.uow.reader() as repo:
                p = repo.get_patient(patient_id)
                pump = pump_in_place(repo, patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        link = reachable(links, pump.serial) if pump is not None else None
        if pump is None or link is None:
            raise HTTPException(404, "this patient's implant is not reachable")
        page: dict[str, Any] = {"user": user, "p": p, "pump": pump}
        try:
            report = interrogate(link, ctx.library, ctx.catalog)
            status, log = snapshot(report)
            stored = record_interrogation(ctx.uow, ctx.clock, user, patient_id,
                                          report.status.serial, status, log)  # fmt: skip
        except (InputError, ProgrammerError, AckLost, LinkRefused, OSError) as exc:
            return render(request, ctx, "interrogation.html", 502, report=None,
                          stored=None, error=f"interrogation failed: {exc}", **page)  # fmt: skip
        return render(request, ctx, "interrogation.html", report=report, stored=stored,
                      error=None, **page)  # fmt: skip

    def _refill_entry(withdrawn: str, filled: str, drug_lot: str, form: dict[str, str],
                      lot_required: bool = True) -> RefillInput:  # fmt: skip
        if lot_required and not drug_lot.strip():
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
        try:
            with ctx.uow.reader() as repo:
                p = repo.get_patient(patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        return render(request, ctx, "refill.html", user=user, p=p, error=None, outcome=None,
                      form={"withdrawn": "", "filled": "", "drug_lot": ""})  # fmt: skip

    @app.post("/patients/{patient_id}/refill/preview", response_class=HTMLResponse)
    async def refill_preview(patient_id: str, request: Request, user: User = Depends(page_user),
                             ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        """The refill form's calculation fragment, live as the nurse types (htmx): the numbers
        and findings of the review step, computed without writing anything. It only reads, so
        any signed-in user with the form's CSRF token may ask, viewers too (like the patient
        page). Bad input is shown in the fragment, naming the field, with status 200 so htmx
        swaps it in; the drug lot is not needed for the numbers."""
        raw = await request.form()
        form = {k: str(v) for k, v in raw.items()}
        check_csrf(request, ctx, form.get("csrf", ""))
        try:
            with ctx.uow.reader() as repo:
                repo.get_patient(patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
        outcome, error = None, None
        try:
            entry = _refill_entry(form.get("withdrawn", ""), form.get("filled", ""),
                                  form.get("drug_lot", ""), form, lot_required=False)  # fmt: skip
            with ctx.uow.reader() as repo:
                outcome = preview_refill(repo, ctx.library, ctx.catalog, patient_id, entry,
                                         ctx.clock(), user.username)  # fmt: skip
        except InputError as exc:
            error = str(exc)
        values = {"outcome": outcome, "error": error, "live": True}
        return TEMPLATES.TemplateResponse(request, "_refill_calculation.html", values,
                                          headers={"Cache-Control": "no-store"})  # fmt: skip

    @app.post("/patients/{patient_id}/refill", response_class=HTMLResponse)
    async def refill_post(patient_id: str, request: Request, user: User = Depends(page_user),
                          ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
        form = await write_form(request, ctx, user, "record refills")
        try:
            with ctx.uow.reader() as repo:
                p = repo.get_patient(patient_id)
                refills = repo.refills_for(patient_id)
        except InputError:
            raise HTTPException(404, "no such patient") from None
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
                          entry, patient_version=form_version(form))  # fmt: skip
        except (PermissionDenied, OverrideNotAllowed) as exc:
            return render(request, ctx, "refill.html", 403, user=user, p=p, error=_refusal(exc),
                          outcome=None, form=values)  # fmt: skip
        except (InputError, OverrideError) as exc:
            return render(request, ctx, "refill.html", write_status(exc), user=user, p=p,
                          error=str(exc), outcome=None, form=values)  # fmt: skip
        return RedirectResponse(f"/patients/{patient_id}", 303)

    return app
