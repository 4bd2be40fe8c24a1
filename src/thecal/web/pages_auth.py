"""Sign-in pages: the login form, signing in (throttled per user and address) and signing out."""

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from thecal.api.context import AppContext, context
from thecal.api.routes import set_session
from thecal.api.security import LoginThrottled, Session, new_csrf
from thecal.web.pages_common import check_csrf, render

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, ctx: AppContext = Depends(context)) -> Response:
    return render(request, ctx, "login.html", error=None)


@router.post("/login")
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


@router.post("/logout")
def logout(request: Request, csrf: str = Form(""),
           ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    check_csrf(request, ctx, csrf)
    ctx.end_session(request)  # a replayed copy of the cookie is refused from now on
    response = RedirectResponse("/login", 303)
    set_session(response, ctx, Session(None, new_csrf()))
    return response
