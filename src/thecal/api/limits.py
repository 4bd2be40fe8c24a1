"""Limits on untrusted input at the web edge, from ``clinic.toml`` ``[web]`` (product choices):
the request body size (413 before the body is read) and the login throttle's numbers; and
record ids in URLs (anything that cannot be an id is 404 before it reaches the database)."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import HTTPException, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from thecal.units import Dimension, InputError, parse_quantity

# Record ids are uuid4 hex (thecal.clinic.model.new_id); demo and imported records use short
# letters, digits, "-", "_" and ".". Anything else (NUL, "/", non-ASCII, 10 kB) is no record.
_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")


@dataclass(frozen=True)
class WebLimits:
    """``max_request_body_bytes``: the largest body read (bytes; one more is 413).
    ``login_failures_per_address`` failed logins within ``login_failure_window`` throttle the
    client address. Each with its source."""

    max_request_body_bytes: int
    max_request_body_bytes_source: str
    login_failures_per_address: int
    login_failures_per_address_source: str
    login_failure_window: timedelta
    login_failure_window_source: str


def _source(origin: str, data: dict[str, Any], name: str) -> str:
    source = data.get(f"{name}_source")
    if not isinstance(source, str) or not source.strip():
        raise InputError(f"{origin}: web.{name}_source", "every value needs a source")
    return source


def _count(origin: str, data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{origin}: web.{name}", f"{value!r} is not a whole number ≥ 1")
    return value


def build_web_limits(origin: str, data: dict[str, Any]) -> WebLimits:
    """The ``[web]`` table of the clinic settings; :class:`InputError` names the field."""
    web = data.get("web")
    if not isinstance(web, dict):
        raise InputError(f"{origin}: web", "is required", "a [web] table")
    raw = web.get("login_failure_window")
    if not isinstance(raw, str):
        raise InputError(f"{origin}: web.login_failure_window", "is required", "e.g. '15 min'")
    window = parse_quantity(raw, f"{origin}: web.login_failure_window", Dimension.TIME)
    seconds = float(window.to("s").magnitude)
    if not seconds > 0:
        raise InputError(f"{origin}: web.login_failure_window", "must be positive")
    names = ("max_request_body_bytes", "login_failures_per_address", "login_failure_window")
    sources = {n: _source(origin, web, n) for n in names}
    return WebLimits(
        _count(origin, web, "max_request_body_bytes"), sources["max_request_body_bytes"],
        _count(origin, web, "login_failures_per_address"),
        sources["login_failures_per_address"], timedelta(seconds=seconds),
        sources["login_failure_window"],
    )  # fmt: skip


def known_ids(request: Request) -> None:
    """Every ``*_id`` path parameter must look like a record id; else 404 (no such record)
    without a database query — a NUL byte or 10 kB of text is not an id."""
    for name, value in request.path_params.items():
        if name.endswith("_id") and not _ID.fullmatch(str(value)):
            raise HTTPException(404, f"no such record ({name})")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body passes the limit; FastAPI and the routes let an
    HTTPException through, so the answer is 413 however far the parsing had got."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


Refusal = Callable[[Scope, int, str], Response]
"""How :class:`BodyLimit` answers a refused request: (scope, status, message) → response. The
web app answers its pages with an HTML page, the API with JSON (the default)."""


def _json_refusal(_: Scope, status: int, message: str) -> Response:
    return JSONResponse({"detail": message}, status)


class BodyLimit:
    """ASGI middleware: a request whose ``Content-Length`` is above ``limit`` bytes is answered
    413 without reading any of its body; a body without a length (chunked) is counted as it
    arrives and refused (413) as soon as it passes ``limit`` — the rest is never read.
    A ``Content-Length`` that is not a number is 400."""

    def __init__(self, app: ASGIApp, limit: int, answer: Refusal | None = None) -> None:
        self.app = app
        self.limit = limit
        self.answer = answer or _json_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if lengths:
            text = lengths[0].decode("latin-1").strip()
            if not text.isascii() or not text.isdigit() or len(set(lengths)) > 1:
                await self.answer(scope, 400, "bad Content-Length")(scope, receive, send)
                return
            if int(text) > self.limit:
                too_big = BodyTooLarge(self.limit)
                await self.answer(scope, 413, too_big.detail)(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # raised outside a route (e.g. another middleware)
            if started:
                raise
            await self.answer(scope, 413, exc.detail)(scope, receive, send)
