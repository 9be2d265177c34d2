"""What the gateway's /healthz and /readyz add: every service's own answer, asked at once through
the transport the proxy uses, since in embedded mode the gateway is the only door an operator
has to them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from fastapi import Request

from quancheng.access_gateway.service.proxy import upstreams_of
from quancheng.common.service import service_state

T = TypeVar("T")


async def _ask_every_service(
    request: Request, ask: Callable[[httpx.AsyncClient], Awaitable[T]]
) -> dict[str, T]:
    clients = upstreams_of(request).clients
    answers = await asyncio.gather(*(ask(client) for client in clients.values()))
    return dict(zip(clients, answers, strict=True))


async def health_of_services(request: Request) -> dict[str, object]:
    async def ask(client: httpx.AsyncClient) -> str:
        try:
            response = await client.get("/healthz", timeout=3.0)
        except httpx.HTTPError as exc:
            return f"unreachable: {exc.__class__.__name__}"
        return "ok" if response.status_code == 200 else f"http {response.status_code}"

    services = {
        service_state(request).definition.name: "ok",
        **await _ask_every_service(request, ask),
    }
    healthy = all(v == "ok" for v in services.values())
    return {"status": "ok" if healthy else "degraded", "services": services}


async def readiness_of_services(request: Request) -> dict[str, Any]:
    async def ask(client: httpx.AsyncClient) -> dict[str, Any]:
        try:
            response = await client.get("/readyz", timeout=3.0)
            answer: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return {"status": f"unreachable: {exc.__class__.__name__}"}
        return {key: answer[key] for key in ("status", "checks", "events") if key in answer}

    return {"services": await _ask_every_service(request, ask)}
