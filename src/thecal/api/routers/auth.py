"""``/api/v1/login`` and ``/api/v1/logout``: the signed session cookie and its CSRF token."""

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from pydantic import BaseModel

from thecal.api.context import AppContext, context
from thecal.api.deps import api_user, check_csrf, set_session
from thecal.api.errors import responses, throttled
from thecal.api.schemas import LoginOut, LogoutOut
from thecal.api.security import LoginThrottled, Session, new_csrf
from thecal.clinic.model import User

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
    username: str
    password: str


@router.post("/login", response_model=LoginOut, responses=responses(401, 413, 422, 429))
def login(body: LoginIn, request: Request, response: Response,
          ctx: AppContext = Depends(context)) -> LoginOut:  # fmt: skip
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
    return LoginOut(username=user.username, role=user.role.value, csrf=session.csrf)


@router.post("/logout", response_model=LogoutOut, responses=responses(401, 403))
def logout(request: Request, response: Response, x_csrf_token: str | None = Header(None),
           user: User = Depends(api_user),
           ctx: AppContext = Depends(context)) -> LogoutOut:  # fmt: skip
    """End the session: its cookie is refused from now on, even if replayed."""
    check_csrf(request, ctx, x_csrf_token)
    ctx.end_session(request)
    set_session(response, ctx, Session(None, new_csrf()))
    return LogoutOut(logged_out=user.username)
