"""What every API route shares: the signed-in user, the CSRF check on writes, quantities in
and the patient version bound."""

from typing import Any

from fastapi import Depends, Header, HTTPException, Request, Response
from pydantic import BaseModel

from thecal.api.context import AppContext, context
from thecal.api.security import Session, csrf_ok
from thecal.clinic.model import User
from thecal.units import Dimension, parse_quantity

VERSION_MAX = 2**31 - 1  # the column is a 32-bit integer


class QuantityIn(BaseModel):
    value: float
    unit: str


def quantity(q: QuantityIn, field: str, dim: Dimension) -> Any:
    """``{"value","unit"}`` → Quantity; a bad unit is an InputError naming ``field``."""
    return parse_quantity({"value": q.value, "unit": q.unit}, field, dim)


def api_user(request: Request, ctx: AppContext = Depends(context)) -> User:
    user = ctx.user_of(request)
    if user is None:
        raise HTTPException(401, "log in first: POST /api/v1/login")
    return user


def check_csrf(request: Request, ctx: AppContext, token: str | None) -> None:
    if not csrf_ok(ctx.session_of(request), token):
        raise HTTPException(403, "missing or wrong CSRF token (X-CSRF-Token header)")


def writer(
    request: Request,
    x_csrf_token: str | None = Header(None),
    ctx: AppContext = Depends(context),
) -> User:
    """The logged-in user with the session's CSRF token in the header. Whether the user's role
    may make the write is the clinic services' decision (a viewer gets 403 from them)."""
    user = api_user(request, ctx)
    check_csrf(request, ctx, x_csrf_token)
    return user


def set_session(response: Response, ctx: AppContext, session: Session) -> None:
    ctx.set_session(response, session)
