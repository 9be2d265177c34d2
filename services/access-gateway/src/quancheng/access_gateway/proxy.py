"""Forwarding to the services with httpx: over an in-process ASGI transport in embedded mode, over
HTTP in distributed mode. Bodies stream through in both directions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp

from quancheng.access_gateway.config import DEVICE_TOKEN_STATUS, ROUTES, UPSTREAMS
from quancheng.access_gateway.transport import StreamingASGITransport
from quancheng.common.errors import ApiError
from quancheng.common.service import LifespanHook, service_state
from quancheng.common.telemetry import instrument_client

# Hop-by-hop headers (RFC 9110 §7.6.1) are the gateway's own business, not the upstream's.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
_TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=300.0, pool=10.0)


class Upstreams:
    def __init__(self, clients: Mapping[str, httpx.AsyncClient]) -> None:
        self.clients = dict(clients)

    def client(self, service: str) -> httpx.AsyncClient:
        return self.clients[service]

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def route_for(path: str) -> str | None:
    """The service answering ``path``: the longest configured prefix that matches whole segments."""
    best: tuple[int, str] | None = None
    for prefix, service in ROUTES.items():
        if (path == prefix or path.startswith(prefix + "/")) and (
            best is None or len(prefix) > best[0]
        ):
            best = (len(prefix), service)
    return best[1] if best else None


def upstreams_hook(upstream_apps: Mapping[str, ASGIApp] | None) -> LifespanHook:
    @asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        settings = app.state.service.settings
        clients: dict[str, httpx.AsyncClient] = {}
        for name in UPSTREAMS:
            if upstream_apps is not None:
                client = httpx.AsyncClient(
                    transport=StreamingASGITransport(upstream_apps[name]),
                    base_url=f"http://{name}",
                    timeout=_TIMEOUT,
                )
            else:
                url = settings.services.url_for(name)
                if url is None:
                    env = f"QUANCHENG_SERVICES__{name.replace('-', '_').upper()}"
                    raise RuntimeError(f"the gateway needs the URL of {name}: set {env}")
                client = httpx.AsyncClient(base_url=str(url), timeout=_TIMEOUT)
            instrument_client(client)
            clients[name] = client
        upstreams = Upstreams(clients)
        app.state.upstreams = upstreams
        try:
            yield
        finally:
            await upstreams.aclose()

    return hook


def upstreams_of(request: Request) -> Upstreams:
    upstreams: Upstreams = request.app.state.upstreams
    return upstreams


async def forward(request: Request, service: str) -> StreamingResponse:
    client = upstreams_of(request).client(service)
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
    if request.client is not None:
        headers.append(("x-forwarded-for", request.client.host))
    upstream_request = client.build_request(
        request.method,
        httpx.URL(path=request.url.path, query=request.url.query.encode() or None),
        headers=headers,
        content=request.stream(),
    )
    try:
        response = await client.send(upstream_request, stream=True)
    except httpx.HTTPError as exc:
        raise ApiError(
            502,
            "upstream_unavailable",
            f"{service} did not answer: {exc.__class__.__name__}",
            f"服务 {service} 暂不可用",
            headers={"Retry-After": "5"},
        ) from exc
    response_headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
    return StreamingResponse(
        response.aiter_raw(),
        status_code=response.status_code,
        headers=response_headers,
        background=BackgroundTask(response.aclose),
    )


async def check_device_token(request: Request) -> None:
    """Refuse a device token whose credentials were revoked since it was issued: the registry
    is asked every time, so that revocation takes effect on the very next request."""
    service, path = DEVICE_TOKEN_STATUS
    client = upstreams_of(request).client(service)
    try:
        response = await client.get(
            path, headers={"authorization": request.headers.get("authorization", "")}
        )
    except httpx.HTTPError as exc:
        raise ApiError(
            503,
            "device_token_unverifiable",
            f"cannot confirm the device credentials now: {exc.__class__.__name__}",
            "暂时无法核验设备凭据，请稍后重试",
            headers={"Retry-After": "5"},
        ) from exc
    if response.status_code == 200:
        return
    if response.status_code == 401:
        body = response.json()
        raise ApiError(
            401,
            str(body.get("error", "device_credentials_revoked")),
            str(body.get("message", "the device credentials were revoked")),
            str(body.get("message_zh", "该设备的上传凭据已被吊销")),
            headers={"WWW-Authenticate": 'Bearer realm="quancheng", error="invalid_token"'},
        )
    raise ApiError(
        503,
        "device_token_unverifiable",
        f"the registry answered {response.status_code} about the device credentials",
        "暂时无法核验设备凭据，请稍后重试",
        headers={"Retry-After": "5"},
    )


async def health_of_services(request: Request) -> dict[str, object]:
    """Each service's own /healthz, asked at once through the transport the proxy uses."""

    async def ask(client: httpx.AsyncClient) -> str:
        try:
            response = await client.get("/healthz", timeout=3.0)
        except httpx.HTTPError as exc:
            return f"unreachable: {exc.__class__.__name__}"
        return "ok" if response.status_code == 200 else f"http {response.status_code}"

    clients = upstreams_of(request).clients
    answers = await asyncio.gather(*(ask(client) for client in clients.values()))
    services = {
        service_state(request).definition.name: "ok",
        **dict(zip(clients, answers, strict=True)),
    }
    healthy = all(v == "ok" for v in services.values())
    return {"status": "ok" if healthy else "degraded", "services": services}
