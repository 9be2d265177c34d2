"""What a request may be before a route sees it: how large its body, how slow in coming, which
characters in its path and query; and the bounds of the paging parameters every list takes, and
the page it answers.

``RequestLimits`` is plain ASGI (not BaseHTTPMiddleware): bodies stream through it, counted and
timed piece by piece, never held. Every service has it, the gateway first.
"""

from __future__ import annotations

import re
from typing import Annotated, Generic, TypeVar
from urllib.parse import parse_qsl

import anyio
from fastapi import Query
from pydantic import BaseModel
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quancheng.common.errors import ApiError
from quancheng.common.settings import LimitSettings

# No list is paged this far (a filter narrows it instead); the databases take OFFSET as a 64-bit
# integer, so a larger one would fail there rather than be refused here.
MAX_OFFSET = 1_000_000
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
Limit = Annotated[int, Query(ge=1, le=500, description="items per page")]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list (as ``offset`` and ``limit`` cut it) and how long the whole list is."""

    items: list[T]
    total: int


# Bodies that their routes bound themselves, far beyond any JSON: tus uploads (ingest holds each
# to its Upload-Length, at most max_upload_gib), the registry's spreadsheet import (20 MiB) and
# the gateway's access documents (max_document_mib). These are public paths, which the gateway
# serves or forwards unchanged, so it passes them uncapped.
UNCAPPED_PATHS = ("/files", "/api/v1/imports", "/api/v1/access-documents")

# PostgreSQL refuses NUL in text, and no name, code or search needs a control character.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DISCONNECT: Message = {"type": "http.disconnect"}


def body_cap(path: str, settings: LimitSettings) -> int | None:
    """The most bytes a body may have on ``path``; None where the route bounds it itself."""
    if any(path == p or path.startswith(p + "/") for p in UNCAPPED_PATHS):
        return None
    return settings.max_body_kib * 1024


class RequestLimits:
    def __init__(self, app: ASGIApp, settings: LimitSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = body_cap(scope["path"], self.settings)
        refusal = _control_character(scope) or _declared_too_large(scope, cap)
        if refusal is not None:
            await _answer(scope, send, refusal)
            return
        timeout = self.settings.body_timeout_seconds
        received = 0
        body_done = False
        # Once the body is given up on, the app is told that the client left, and the client is
        # answered when the app has ended: it may still keep what came (a tus upload does), and
        # embedded mode's in-process transport stops a service as soon as its answer is read.
        refused: ApiError | None = None
        started = False  # the app began its own answer before that

        async def receive_limited() -> Message:
            nonlocal received, body_done, refused
            if refused is not None:
                return _DISCONNECT
            if body_done:  # only the client leaving is still to come, which may take any time
                return await receive()
            message: Message | None = None
            with anyio.move_on_after(timeout):
                message = await receive()
            if message is None:
                refused = _timed_out(timeout)
                return _DISCONNECT
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if cap is not None and received > cap:
                    refused = _too_large(cap)
                    return _DISCONNECT
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def send_watched(message: Message) -> None:
            nonlocal started
            if refused is not None and not started:
                return  # the app's answer to a client that left: ours goes instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive_limited, send_watched)
        except ClientDisconnect:
            if refused is None:
                raise
        if refused is not None and not started:
            await _answer(scope, send, refused)


def _control_character(scope: Scope) -> ApiError | None:
    found = _CONTROL.search(scope["path"])
    if found is not None:
        code = f"U+{ord(found.group()):04X}"
        return ApiError(
            400,
            "invalid_path",
            f"the path contains a control character ({code})",
            f"请求路径含控制字符（{code}），不予受理",
        )
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        found = _CONTROL.search(name + value)
        if found is not None:
            code = f"U+{ord(found.group()):04X}"
            return ApiError(
                400,
                "invalid_query",
                f"query parameter {name} contains a control character ({code})",
                f"查询参数 {name} 含控制字符（{code}），不予受理",
            )
    return None


def _declared_too_large(scope: Scope, cap: int | None) -> ApiError | None:
    """A body announced larger than allowed is refused before a byte of it is read."""
    if cap is None:
        return None
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > cap:
            return _too_large(cap)
    return None


def _too_large(cap: int) -> ApiError:
    kib = cap // 1024
    return ApiError(
        413,
        "body_too_large",
        f"the request body is larger than {kib} KiB, the most this request may send",
        f"请求体超过 {kib} KiB，超出此请求允许的大小",
    )


def _timed_out(timeout: float) -> ApiError:
    return ApiError(
        408,
        "body_timeout",
        f"the request body stopped arriving: nothing came for {timeout:g} seconds "
        "(is Content-Length larger than the body sent?)",
        f"请求体在 {timeout:g} 秒内没有继续送达（Content-Length 是否大于实际发送的内容？），"
        "请求已放弃",
    )


async def _answer(scope: Scope, send: Send, error: ApiError) -> None:
    # The rest of the body is not read: the connection can't carry another request.
    response = JSONResponse(
        error.body(), status_code=error.status_code, headers={"Connection": "close"}
    )
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return _DISCONNECT
