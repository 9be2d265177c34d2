"""The embedded gateway's in-process transport streams response bodies: a large download or
archive export is never held whole in the gateway's memory."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from quancheng.access_gateway.service.transport import StreamingASGITransport

Message = MutableMapping[str, Any]


def paced_app(pieces: int, reader_asks: asyncio.Event, sent: list[int]) -> Any:
    """Sends each piece only when the reader has asked for the previous one: a transport that
    waits for the whole body before answering never gets past the first."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for n in range(pieces):
            await reader_asks.wait()
            reader_asks.clear()
            sent.append(n)
            await send({"type": "http.response.body", "body": b"x" * 1024, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


async def test_the_body_reaches_the_reader_piece_by_piece() -> None:
    asks, sent = asyncio.Event(), list[int]()
    client = httpx.AsyncClient(transport=StreamingASGITransport(paced_app(50, asks, sent)))

    async def read() -> int:
        received = 0
        async with client.stream("GET", "http://svc/big") as response:
            assert response.status_code == 200
            asks.set()
            async for piece in response.aiter_raw():
                received += len(piece)
                asks.set()
        return received

    received = await asyncio.wait_for(read(), timeout=5)  # a buffering transport never answers
    await client.aclose()

    assert (received, sent) == (50 * 1024, list(range(50)))


async def test_a_reader_that_stops_early_stops_the_app() -> None:
    asks, sent = asyncio.Event(), list[int]()
    client = httpx.AsyncClient(transport=StreamingASGITransport(paced_app(1000, asks, sent)))
    async with client.stream("GET", "http://svc/big") as response:
        asks.set()
        async for _ in response.aiter_raw():
            if len(sent) == 3:
                break
            asks.set()
    asks.set()
    await asyncio.sleep(0.05)
    await client.aclose()

    assert len(sent) == 3  # the app was cancelled, not left producing into a full queue


async def test_the_request_body_streams_in_and_failures_reach_the_client() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/fails-early":
            raise LookupError("before answering")
        total = 0
        while True:
            message = await receive()
            total += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": str(total).encode(), "more_body": True})
        if scope["path"] == "/fails-late":
            raise ValueError("half-way through the body")
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def chunks() -> Any:
        for _ in range(10):
            yield b"y" * 1000

    async with httpx.AsyncClient(transport=StreamingASGITransport(app)) as client:
        counted = await client.post("http://svc/count", content=chunks())
        with pytest.raises(LookupError):
            await client.get("http://svc/fails-early")
        with pytest.raises(ValueError, match="half-way"):
            await client.post("http://svc/fails-late", content=b"z")

    assert (counted.status_code, counted.text) == (201, "10000")
