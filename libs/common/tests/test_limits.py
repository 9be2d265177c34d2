"""``RequestLimits`` on a small app: bodies capped (declared or counted) except where the route
bounds its own, streamed through uncapped ones piece by piece, a stalled body answered 408 and
its request ended; control characters in the path or query refused; paging bounded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from quancheng.common.errors import install_error_handlers
from quancheng.common.limits import MAX_OFFSET, Limit, Offset, RequestLimits
from quancheng.common.settings import LimitSettings, Settings

TIMEOUT = 0.3


class Note(BaseModel):
    text: str


class Seen:
    """What the app's routes saw of the requests."""

    def __init__(self) -> None:
        self.pieces: list[int] = []
        self.ended: list[str] = []


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def app(seen: Seen) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(
        RequestLimits, settings=LimitSettings(max_body_kib=1, body_timeout_seconds=TIMEOUT)
    )

    @app.post("/notes")
    async def note(data: Note) -> Note:
        seen.ended.append("parsed")
        return data

    @app.get("/notes")
    async def notes(
        offset: Offset = 0, limit: Limit = 50, q: str | None = None
    ) -> dict[str, object]:
        return {"offset": offset, "limit": limit, "q": q}

    @app.get("/notes/{name}")
    async def one(name: str) -> dict[str, str]:
        return {"name": name}

    @app.post("/slow-answer")
    async def slow_answer(request: Request) -> dict[str, int]:
        size = len(await request.body())
        await asyncio.sleep(3 * TIMEOUT)  # long after the body: not the client's delay
        return {"size": size}

    async def stream(request: Request) -> dict[str, int]:
        try:
            async for piece in request.stream():
                if piece:
                    seen.pieces.append(len(piece))
        except ClientDisconnect:
            seen.ended.append("disconnect")
            raise
        seen.ended.append("complete")
        return {"size": sum(seen.pieces)}

    # An uncapped path (tus uploads bound their own bodies) and a capped one.
    app.add_api_route("/files/{upload_id}", stream, methods=["PATCH"])
    app.add_api_route("/stream", stream, methods=["POST"])
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://limits") as client:
        yield client


def assert_refused(response: httpx.Response, status: int, error: str, zh: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["error"], set(body)) == (error, {"error", "message", "message_zh"})
    assert zh in body["message_zh"]


async def pieces(*sizes: int, pause: float = 0.0, stall: bool = False) -> AsyncIterator[bytes]:
    for size in sizes:
        yield b"x" * size
        await asyncio.sleep(pause)
    if stall:
        await asyncio.Event().wait()  # the rest of the body never comes


async def test_a_body_declared_larger_than_the_cap_is_refused_unread(
    client: httpx.AsyncClient, seen: Seen
) -> None:
    response = await client.post("/notes", json={"text": "长" * 2000})

    assert_refused(response, 413, "body_too_large", "请求体超过 1 KiB")
    assert response.headers["connection"] == "close"
    assert seen.ended == []


async def test_a_streamed_body_is_counted_and_refused_past_the_cap(
    client: httpx.AsyncClient, seen: Seen
) -> None:
    # No Content-Length: only counting finds it too large.
    response = await client.post("/stream", content=pieces(600, 600, 600))

    assert_refused(response, 413, "body_too_large", "超出此请求允许的大小")
    assert (seen.pieces, seen.ended) == ([600], ["disconnect"])


async def test_bodies_within_the_cap_pass(client: httpx.AsyncClient) -> None:
    response = await client.post("/notes", json={"text": "监管一科"})

    assert response.status_code == 200
    assert response.json() == {"text": "监管一科"}


async def test_an_uncapped_route_gets_its_body_as_it_streams(
    client: httpx.AsyncClient, seen: Seen
) -> None:
    response = await client.patch("/files/abc", content=pieces(*[64 * 1024] * 40))

    assert response.status_code == 200, response.text
    assert response.json() == {"size": 40 * 64 * 1024}
    # Piece by piece as sent, not gathered first.
    assert seen.pieces == [64 * 1024] * 40


async def test_a_stalled_body_is_answered_408_and_the_request_freed(
    client: httpx.AsyncClient, seen: Seen
) -> None:
    started = time.monotonic()
    response = await asyncio.wait_for(
        client.patch("/files/abc", content=pieces(100, stall=True)), timeout=10
    )

    assert_refused(response, 408, "body_timeout", f"{TIMEOUT:g} 秒内没有继续送达")
    assert "Content-Length" in response.json()["message"]
    assert time.monotonic() - started < 5
    # The route was told the client left, and ended.
    assert (seen.pieces, seen.ended) == ([100], ["disconnect"])


async def test_a_slow_but_steady_body_is_not_cut(client: httpx.AsyncClient, seen: Seen) -> None:
    # Longer than the timeout in all, but no pause between two pieces is.
    response = await client.patch("/files/abc", content=pieces(10, 10, 10, 10, pause=TIMEOUT / 2))

    assert response.status_code == 200, response.text
    assert seen.ended == ["complete"]


async def test_the_timeout_is_for_the_body_not_the_answer(client: httpx.AsyncClient) -> None:
    response = await client.post("/slow-answer", content=b"abc")

    assert response.status_code == 200
    assert response.json() == {"size": 3}


@pytest.mark.parametrize("value", ["a%00b", "%0A", "x%7F"])
async def test_a_control_character_in_the_query_is_refused(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.get(f"/notes?q={value}")

    assert_refused(response, 400, "invalid_query", "查询参数 q 含控制字符")


async def test_a_control_character_in_the_path_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/notes/a%00b")

    assert_refused(response, 400, "invalid_path", "请求路径含控制字符（U+0000）")


async def test_chinese_text_in_the_query_passes(client: httpx.AsyncClient) -> None:
    response = await client.get("/notes", params={"q": "监管 一科"})

    assert response.json()["q"] == "监管 一科"


@pytest.mark.parametrize(
    ("query", "zh"),
    [
        (f"offset={2**63}", f"须不大于 {MAX_OFFSET}"),
        ("offset=-1", "须不小于 0"),
        ("limit=0", "须不小于 1"),
        ("limit=501", "须不大于 500"),
    ],
)
async def test_paging_is_bounded(client: httpx.AsyncClient, query: str, zh: str) -> None:
    response = await client.get(f"/notes?{query}")

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert zh in response.json()["message_zh"]


def test_the_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANCHENG_LIMITS__MAX_BODY_KIB", "4096")
    monkeypatch.setenv("QUANCHENG_LIMITS__BODY_TIMEOUT_SECONDS", "12.5")

    limits = Settings().limits

    assert (limits.max_body_kib, limits.body_timeout_seconds) == (4096, 12.5)
