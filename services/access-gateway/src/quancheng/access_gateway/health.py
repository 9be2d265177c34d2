"""What the gateway's /readyz adds: every service's own readiness and event pipeline, since in
embedded mode the gateway is the only door an operator has to them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import Request

from quancheng.access_gateway.proxy import upstreams_of


async def readiness_of_services(request: Request) -> dict[str, Any]:
    async def ask(client: httpx.AsyncClient) -> dict[str, Any]:
        try:
            response = await client.get("/readyz", timeout=3.0)
            answer: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return {"status": f"unreachable: {exc.__class__.__name__}"}
        return {key: answer[key] for key in ("status", "checks", "events") if key in answer}

    clients = upstreams_of(request).clients
    answers = await asyncio.gather(*(ask(client) for client in clients.values()))
    return {"services": dict(zip(clients, answers, strict=True))}
