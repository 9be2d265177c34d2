"""The in-process transport of embedded mode: httpx's ``ASGITransport``, except that the response
body streams. httpx's own runs the app to the end and keeps every byte of the body before it
answers (encode/httpx#2186), which would hold a multi-gigabyte archive export or download in the
gateway's memory. Here the app runs in a task of its own and hands its body over a short queue,
so it goes no faster than the client reads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
from starlette.types import ASGIApp

# Body pieces waiting for the client; the app waits while the queue is full.
_QUEUED_PIECES = 4
# What the queue carries: a piece of the body, the app's failure, or None for the end.
_Piece = bytes | Exception | None


class StreamingASGITransport(httpx.AsyncBaseTransport):
    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):
            raise TypeError("StreamingASGITransport needs an async request body")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for (k, v) in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": self.client,
            "root_path": "",
        }
        request_body = request.stream.__aiter__()
        request_complete = False
        response_complete = asyncio.Event()
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = (
            asyncio.get_running_loop().create_future()
        )
        pieces: asyncio.Queue[_Piece] = asyncio.Queue(_QUEUED_PIECES)

        async def receive() -> dict[str, Any]:
            nonlocal request_complete
            if request_complete:
                await response_complete.wait()
                return {"type": "http.disconnect"}
            try:
                body = await request_body.__anext__()
            except StopAsyncIteration:
                request_complete = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": body, "more_body": True}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.set_result((message["status"], list(message.get("headers", []))))
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if body and request.method != "HEAD":
                    await pieces.put(body)
                if not message.get("more_body", False):
                    response_complete.set()
                    await pieces.put(None)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except Exception as exc:
                if not started.done():
                    started.set_exception(exc)
                else:
                    await pieces.put(exc)  # raised to the reader, where the body breaks off
            finally:
                response_complete.set()

        task = asyncio.create_task(run())
        first: list[asyncio.Future[Any]] = [started, task]
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            await task  # the app ended without answering: an ASGI error
            raise RuntimeError("the ASGI app returned without starting a response")
        status, headers = started.result()
        return httpx.Response(status, headers=headers, stream=_Body(pieces, task), request=request)


class _Body(httpx.AsyncByteStream):
    def __init__(self, pieces: asyncio.Queue[_Piece], task: asyncio.Task[None]) -> None:
        self._pieces = pieces
        self._task = task

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            piece = await self._pieces.get()
            if piece is None:
                return
            if isinstance(piece, Exception):
                raise piece
            yield piece

    async def aclose(self) -> None:
        # The client stopped reading (or read it all): the app is not needed any more.
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
