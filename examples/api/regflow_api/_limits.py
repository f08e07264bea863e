"""What every POST must be before a route sees it: small enough, and sent by the host's own
front-end (the anti-CSRF header). A pure ASGI middleware, so an oversized body is never
held whole: it reads at most `max_body` + 1 bytes, then answers 413."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from regflow_api._answers import errors_json
from regflow_api._bodies import refusal

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_body: int, csrf_header: str) -> None:
        self.app = app
        self.max_body = max_body
        self.csrf_header = csrf_header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.csrf_header and not headers.get(self.csrf_header):
            await _refuse(send, 403, "request.header_missing")
            return
        body = await _read(receive, self.max_body + 1)
        if body is None or len(body) > self.max_body:
            await _refuse(send, 413, "request.too_large")
            return
        await self.app(scope, _replay(body), send)


async def _read(receive: Receive, at_most: int) -> bytes | None:
    """The body, or as much of it as reaches `at_most` bytes; None if the client left."""
    chunks: list[bytes] = []
    size = 0
    while size < at_most:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _refuse(send: Send, status: int, code: str) -> None:
    body = json.dumps({"errors": errors_json([refusal(code)])}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
