"""The request body cap (clinic.toml [web] max_request_body_bytes, a product choice): 413
before the body is read — from Content-Length, or as a chunked body passes the cap."""

import asyncio
from collections.abc import Iterator

from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from tests.web.conftest import csrf_of
from thecal.api.context import AppContext
from thecal.api.limits import BodyLimit

LIMIT = 1024  # a small cap for the ASGI-level tests


async def _never_called(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the app must not run")


async def _reads_everything(scope: Scope, receive: Receive, send: Send) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"read"})


def _call(app: BodyLimit, headers: list[tuple[bytes, bytes]],
          chunks: Iterator[bytes]) -> tuple[int, int]:  # fmt: skip
    """(status, chunks received by the app) for a POST with ``headers`` and body ``chunks``."""
    sent: list[Message] = []
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": next(chunks), "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/login", "headers": headers}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], read


def _endless() -> Iterator[bytes]:
    while True:
        yield b"x" * 100


def test_content_length_above_the_cap_is_413_without_reading() -> None:
    app = BodyLimit(_never_called, LIMIT)
    status, read = _call(app, [(b"content-length", str(LIMIT + 1).encode())], _endless())
    assert (status, read) == (413, 0)
    app = BodyLimit(_never_called, LIMIT)
    status, read = _call(app, [(b"content-length", b"50000000")], _endless())  # 50 MB
    assert (status, read) == (413, 0)
    for bad in (b"-1", b"1e9", b"\xb2", b""):  # not a length: 400, nothing read
        assert _call(BodyLimit(_never_called, LIMIT), [(b"content-length", bad)],
                     _endless()) == (400, 0)  # fmt: skip


def test_chunked_body_stops_being_read_once_past_the_cap() -> None:
    app = BodyLimit(_reads_everything, LIMIT)
    status, read = _call(app, [(b"transfer-encoding", b"chunked")], _endless())
    # 100-byte chunks: after 11 chunks 1100 > 1024 bytes; the 12th is never asked for.
    assert (status, read) == (413, 11)


def test_exactly_the_cap_is_read() -> None:
    chunks = iter([b"x" * 1000, b"x" * 24])

    async def receive_all(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["body"] == b"x" * 1000
        last = await receive()  # 1024 bytes: at the cap, not above it
        assert last["body"] == b"x" * 24
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    status, read = _call(BodyLimit(receive_all, LIMIT),
                         [(b"content-length", str(LIMIT).encode())], chunks)  # fmt: skip
    assert (status, read) == (200, 2)


def test_the_app_refuses_oversized_bodies(client: TestClient, ctx: AppContext) -> None:
    cap = ctx.limits.max_request_body_bytes
    assert cap == 1024 * 1024  # 1 MiB, a product choice in clinic.toml
    token = csrf_of(client)
    big = b"username=nurse&password=" + b"x" * cap
    r = client.post("/login", content=big,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 413
    r = client.post("/api/v1/login", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413

    def chunked() -> Iterator[bytes]:  # no Content-Length: httpx sends it chunked
        for _ in range(100):  # 100 × 64 kB = 6.4 MB offered
            yield b"x" * 65536

    r = client.post("/api/v1/login", content=chunked(),
                    headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 413
    r = client.post("/login", content=chunked(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 413
    # A normal login still works (small body under the cap).
    r = client.post("/login", data={"username": "nurse", "password": "demo-nurse",
                                    "csrf": token}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
