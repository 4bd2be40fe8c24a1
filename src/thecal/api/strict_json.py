"""Request bodies are strict JSON: ``NaN``, ``Infinity`` and numbers beyond float range
(``1e999``) are refused with 422 before any route sees them.

Python's ``json`` (and so FastAPI) accepts ``NaN`` and ``Infinity`` literals and reads ``1e999``
as infinity; a non-finite number must never reach a dose, a volume or the database.
"""

import json
import math
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class NonFinite(ValueError):
    """A JSON number that is not a finite float."""


def _constant(name: str) -> Any:
    raise NonFinite(f"{name} is not a number JSON allows (write a finite number)")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFinite(f"{text[:32]} is beyond the range of a number (write a finite number)")
    return value


def non_finite_problem(body: bytes) -> str | None:
    """Why ``body`` holds a non-finite number, or None (also for text that is not JSON at all:
    the route's own parsing reports that)."""
    try:
        json.loads(body, parse_constant=_constant, parse_float=_float)
    except NonFinite as exc:
        return str(exc)
    except ValueError:  # not JSON (or not UTF-8): FastAPI answers it as before
        return None
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return False


class StrictJSON:
    """ASGI middleware: reads a JSON request body once, refuses a non-finite number with 422
    ``{"detail": [{"field": "body", "message", "expected"}]}``, else replays the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = non_finite_problem(body)
        if problem is not None:
            detail = [{"field": "body", "message": problem, "expected": "finite numbers only"}]
            await JSONResponse({"detail": detail}, 422)(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
