"""``/api/v1``: patients, calendar, worklist, refill and program-change workflows.

Authentication is the same signed session cookie as the web app (``POST /api/v1/login``);
writes also need the session's CSRF token in the ``X-CSRF-Token`` header. Bad input → 422
``{"detail": [{"field", "message", "expected"}]}`` with the clinic's field names; quantities
are ``{"value", "unit"}`` with UCUM units. An unknown patient or record → 404.

Every write names the patient version it was computed from (``patient_version``, from
``GET /api/v1/patients/{id}``): missing → 422, someone else wrote for the patient since → 409
and nothing is saved; the client reloads and decides again. (Every write, web or API, moves
the version on, so a web form opened before an API write is refused too.)
"""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError

from thecal.api.context import AppContext, context
from thecal.api.security import LoginThrottled, Session, csrf_ok, new_csrf
from thecal.clinic.calendar import CalendarEntry, RefillStatus, calendar_page
from thecal.clinic.errors import ConcurrentEditError, NotFoundError, PermissionDenied
from thecal.clinic.interrogation import SnapshotView, read_snapshot
from thecal.clinic.model import Interrogation, RefillRecord, Role, StoredFinding, User
from thecal.clinic.workflows import (
    RefillInput,
    change_program,
    current_prescription,
    record_refill,
)
from thecal.clinic.worklist import worklist
from thecal.therapy.plan_file import PlanFile
from thecal.units import Dimension, InputError, parse_quantity, ucum_json

router = APIRouter(prefix="/api/v1")


VERSION_MAX = 2**31 - 1  # the column is a 32-bit integer


class QuantityIn(BaseModel):
    value: float
    unit: str


class LoginIn(BaseModel):
    username: str
    password: str


class RefillIn(BaseModel):
    withdrawn: QuantityIn
    filled: QuantityIn
    drug_lot: str = Field(min_length=1)
    confirmed_after_fill: QuantityIn | None = None
    planned_refill: datetime | None = None
    overrides: dict[str, str] = Field(default_factory=dict)
    patient_version: int = Field(ge=1, le=VERSION_MAX)


class ProgramIn(BaseModel):
    plan: dict[str, Any]
    reason: str
    overrides: dict[str, str] = Field(default_factory=dict)
    patient_version: int = Field(ge=1, le=VERSION_MAX)


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


def throttled(exc: LoginThrottled) -> HTTPException:
    """429 with ``Retry-After`` (seconds) and a message saying how long."""
    return HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)})


def quantity(q: QuantityIn, field: str, dim: Dimension) -> Any:
    """``{"value","unit"}`` → Quantity; a bad unit is an InputError naming ``field``."""
    return parse_quantity({"value": q.value, "unit": q.unit}, field, dim)


def api_user(request: Request, ctx: AppContext = Depends(context)) -> User:
    user = ctx.user_of(request)
    if user is None:
        raise HTTPException(401, "log in first: POST /api/v1/login")
    return user


def writer(
    request: Request,
    x_csrf_token: str | None = Header(None),
    ctx: AppContext = Depends(context),
) -> User:
    """The logged-in user, allowed to write, with the session's CSRF token in the header."""
    user = api_user(request, ctx)
    if not csrf_ok(ctx.session_of(request), x_csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token (X-CSRF-Token header)")
    if user.role is Role.VIEWER:
        raise HTTPException(403, f"{user.username} (viewer) may not write")
    return user


@router.post("/login")
def login(body: LoginIn, request: Request, response: Response,
          ctx: AppContext = Depends(context)) -> dict[str, str]:  # fmt: skip
    """Start a session; the answer carries the CSRF token for write requests."""
    address = request.client.host if request.client else "?"
    try:
        user = ctx.authenticate(body.username, body.password, address)
    except LoginThrottled as exc:
        raise throttled(exc) from None
    if user is None:
        raise HTTPException(401, "wrong username or password")
    session = ctx.new_session(user.username)
    set_session(response, ctx, session)
    return {"username": user.username, "role": user.role.value, "csrf": session.csrf}


@router.post("/logout")
def logout(request: Request, response: Response, x_csrf_token: str | None = Header(None),
           user: User = Depends(api_user),
           ctx: AppContext = Depends(context)) -> dict[str, str]:  # fmt: skip
    """End the session: its cookie is refused from now on, even if replayed."""
    if not csrf_ok(ctx.session_of(request), x_csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token (X-CSRF-Token header)")
    ctx.end_session(request)
    set_session(response, ctx, Session(None, new_csrf()))
    return {"logged_out": user.username}


def set_session(response: Response, ctx: AppContext, session: Session) -> None:
    ctx.set_session(response, session)


def finding_json(f: StoredFinding) -> dict[str, Any]:
    return f.to_json()


def refill_json(r: RefillRecord) -> dict[str, Any]:
    return {
        "id": r.id, "performed_at": r.performed_at.isoformat(), "by": r.by,
        "expected_remaining": ucum_json(r.expected_remaining, "mL"),
        "withdrawn": ucum_json(r.withdrawn, "mL"), "discrepancy": ucum_json(r.discrepancy, "mL"),
        "filled": ucum_json(r.filled, "mL"), "drug_lot": r.drug_lot,
        "refill_by": r.refill_by.isoformat() if r.refill_by else None,
        "decided_by": r.decided_by,
        "findings": [finding_json(f) for f in r.findings],
        "overrides": dict(r.overrides),
    }  # fmt: skip


def calendar_json(e: CalendarEntry) -> dict[str, Any]:
    return {
        "patient_id": e.patient_id, "mrn": e.mrn, "name": e.display_name,
        "status": e.status.value, "due": e.due.isoformat() if e.due else None,
        "days_left": e.days_left, "reason": e.reason, "source": e.source,
    }  # fmt: skip


@router.get("/patients")
def patients(
    _: User = Depends(api_user), ctx: AppContext = Depends(context)
) -> list[dict[str, Any]]:
    with ctx.uow.reader() as repo:
        return [{"id": p.id, "mrn": p.mrn, "name": p.display_name, "version": p.version}
                for p in repo.list_patients()]  # fmt: skip


@router.get("/patients/{patient_id}")
def patient(patient_id: str, _: User = Depends(api_user),
            ctx: AppContext = Depends(context)) -> dict[str, Any]:  # fmt: skip
    try:
        with ctx.uow.reader() as repo:
            p = repo.get_patient(patient_id)
            devices = repo.devices_for(patient_id)
            rx = current_prescription(repo, patient_id)
            refills = repo.refills_for(patient_id)
    except InputError as exc:
        raise input_error(exc) from None
    return {
        "id": p.id, "mrn": p.mrn, "name": p.display_name, "version": p.version,
        "devices": [{"id": d.id, "kind": d.kind.value, "model": d.model, "serial": d.serial,
                     "implanted_on": d.implanted_on.isoformat(),
                     "removed_on": d.removed_on.isoformat() if d.removed_on else None}
                    for d in devices],
        "prescription": None if rx is None else {"version": rx.version,
                                                 "plan": rx.plan().model_dump(mode="json")},
        "refills": [refill_json(r) for r in refills],
    }  # fmt: skip


def _q_json(q: Any, unit: str | None = None) -> dict[str, Any] | None:
    return None if q is None else ucum_json(q, unit)


def interrogation_json(v: SnapshotView) -> dict[str, Any]:
    """The summary of a stored interrogation (the list): who, when, pump, reservoir, alarms."""
    i = v.interrogation
    return {
        "id": i.id, "at": i.at.isoformat(), "by": i.by, "device_id": i.device_id,
        "serial": v.serial, "model": v.model,
        "device_time": v.device_time.isoformat() if v.device_time else None,
        "delivering": v.delivering, "holds": list(v.holds),
        "reservoir_estimate": _q_json(v.reservoir_estimate, "mL"),
        "alarms": [a.name for a in v.active_alarms], "events": len(v.events),
    }  # fmt: skip


def known_patient(ctx: AppContext, patient_id: str) -> None:
    """404 unless ``patient_id`` is a patient (checked before the body is looked at)."""
    try:
        with ctx.uow.reader() as repo:
            repo.get_patient(patient_id)
    except InputError as exc:
        raise input_error(exc) from None


def _patient_interrogations(ctx: AppContext, patient_id: str) -> list[Interrogation]:
    try:
        with ctx.uow.reader() as repo:
            repo.get_patient(patient_id)
            return list(repo.interrogations_for(patient_id))
    except InputError as exc:
        raise input_error(exc) from None


@router.get("/patients/{patient_id}/interrogations")
def interrogations(patient_id: str, _: User = Depends(api_user),
                   ctx: AppContext = Depends(context)) -> list[dict[str, Any]]:  # fmt: skip
    """The patient's stored interrogations, newest first (summary fields)."""
    stored = _patient_interrogations(ctx, patient_id)
    return [interrogation_json(read_snapshot(i)) for i in reversed(stored)]


@router.get("/patients/{patient_id}/interrogations/{interrogation_id}")
def interrogation(patient_id: str, interrogation_id: str, _: User = Depends(api_user),
                  ctx: AppContext = Depends(context)) -> dict[str, Any]:  # fmt: skip
    """One stored interrogation: the summary plus the full status snapshot and event log as
    the programmer stored them. 404 for another patient's interrogation."""
    try:
        with ctx.uow.reader() as repo:
            repo.get_patient(patient_id)
            record = repo.get_interrogation(interrogation_id)
    except InputError as exc:
        raise input_error(exc) from None
    if record.patient_id != patient_id:
        raise HTTPException(404, f"no interrogation {interrogation_id!r} for this patient")
    return {**interrogation_json(read_snapshot(record)), "status": record.status,
            "log": list(record.log)}  # fmt: skip


@router.get("/calendar")
def calendar(
    status: list[RefillStatus] | None = Query(
        None, description="statuses to list (repeat the parameter); default: all"
    ),
    limit: int = Query(100, ge=0, le=1000, description="entries per page"),
    offset: int = Query(0, ge=0, le=10**9, description="entries to skip"),
    _: User = Depends(api_user),
    ctx: AppContext = Depends(context),
) -> dict[str, Any]:
    """The refill calendar, one page: counts per status for the whole clinic, and the entries
    ``offset`` to ``offset + limit`` of the chosen statuses in calendar order."""
    with ctx.uow.reader() as repo:
        page = calendar_page(repo, ctx.today(), ctx.soon, status or tuple(RefillStatus),
                             limit, offset)  # fmt: skip
    return {
        "today": page.today.isoformat(), "soon": ucum_json(ctx.soon, "d"),
        "counts": {s.value: n for s, n in page.counts.items()},
        "statuses": [s.value for s in page.statuses], "total": page.total,
        "limit": page.limit, "offset": page.offset,
        "entries": [calendar_json(e) for e in page.entries],
    }  # fmt: skip


@router.get("/worklist")
def work(_: User = Depends(api_user), ctx: AppContext = Depends(context)) -> list[dict[str, Any]]:
    with ctx.uow.reader() as repo:
        items = worklist(repo, ctx.today(), ctx.soon)
    return [{"patient_id": i.patient_id, "kind": i.kind, "level": i.level, "code": i.code,
             "message": i.message, "since": i.since.isoformat(), "source": i.source}
            for i in items]  # fmt: skip


@router.post("/patients/{patient_id}/refills", status_code=201)
def refill(patient_id: str, body: RefillIn, user: User = Depends(writer),
           ctx: AppContext = Depends(context)) -> dict[str, Any]:  # fmt: skip
    """Record a refill done now, computed from ``patient_version``. 409 when a hard finding
    refuses, a soft one lacks a reason, or the patient changed since that version; 403 when
    only a physician may give a reason it needs."""
    from thecal.therapy.findings import OverrideError, OverrideNotAllowed

    known_patient(ctx, patient_id)
    try:
        entry = RefillInput(
            quantity(body.withdrawn, "refill.withdrawn", Dimension.VOLUME),
            quantity(body.filled, "refill.filled", Dimension.VOLUME),
            body.drug_lot,
            quantity(body.confirmed_after_fill, "refill.confirmed_after_fill", Dimension.VOLUME)
            if body.confirmed_after_fill else None,
            body.planned_refill, (), body.overrides,
        )  # fmt: skip
        out = record_refill(ctx.uow, ctx.clock, ctx.library, ctx.catalog, user, patient_id,
                            entry, patient_version=body.patient_version)  # fmt: skip
    except PermissionDenied as exc:
        raise HTTPException(403, exc.message) from None
    except OverrideNotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except OverrideError as exc:
        raise HTTPException(409, str(exc)) from None
    except InputError as exc:
        raise input_error(exc) from None
    return refill_json(out.record)


@router.post("/patients/{patient_id}/program", status_code=201)
def program(patient_id: str, body: ProgramIn, user: User = Depends(writer),
            ctx: AppContext = Depends(context)) -> dict[str, Any]:  # fmt: skip
    """Store a new prescription version through the safety gate, computed from
    ``patient_version`` (409 when the patient changed since). 403 when the user may not: a
    nurse outside the current prescription's bounds, or a reason only a physician may give
    (the clinic service decides, in the write's transaction); 409 for a hard finding or a
    missing reason."""
    from thecal.adapters.plan_files import validation_error
    from thecal.therapy.findings import OverrideError, OverrideNotAllowed

    known_patient(ctx, patient_id)
    try:
        plan = PlanFile.model_validate(body.plan)
    except ValidationError as exc:
        raise input_error(validation_error(exc).at("plan")) from None
    try:
        out = change_program(ctx.uow, ctx.clock, ctx.library, ctx.catalog, user, patient_id,
                             plan, body.reason, body.overrides,
                             patient_version=body.patient_version)  # fmt: skip
    except PermissionDenied as exc:
        raise HTTPException(403, exc.message) from None
    except OverrideNotAllowed as exc:
        raise HTTPException(403, str(exc)) from None
    except OverrideError as exc:
        raise HTTPException(409, str(exc)) from None
    except InputError as exc:
        raise input_error(exc) from None
    return {"version": out.prescription.version,
            "findings": [StoredFinding.of(f).to_json() for f in out.findings]}  # fmt: skip
