"""Forwarding to the services with httpx: over an in-process ASGI transport in embedded mode, over
HTTP in distributed mode. Bodies stream through in both directions. The path is forwarded as the
client sent it, so the service answers the very path the gateway routed on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from urllib.parse import quote, quote_from_bytes, unquote_to_bytes

import httpx
from fastapi import FastAPI, Request
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp

from quancheng.access_gateway.config import DEVICE_TOKEN_STATUS
from quancheng.access_gateway.service.transport import StreamingASGITransport
from quancheng.common.errors import ApiError
from quancheng.common.service import LifespanHook
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
# What stays as it is in the forwarded target: escapes ("%") and the delimiters; the rest (bytes
# beyond ASCII, "#", spaces…) is percent-encoded, which decodes to the same bytes.
_TARGET_SAFE = "/?%:@!$&'()*+,;="


class Upstreams:
    def __init__(self, clients: Mapping[str, httpx.AsyncClient]) -> None:
        self.clients = dict(clients)

    def client(self, service: str) -> httpx.AsyncClient:
        return self.clients[service]

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def upstreams_hook(
    services: Sequence[str], upstream_apps: Mapping[str, ASGIApp] | None
) -> LifespanHook:
    """A client for each of ``services``: in-process to ``upstream_apps`` (embedded mode) or to
    the URL the settings give it."""

    @asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        settings = app.state.service.settings
        clients: dict[str, httpx.AsyncClient] = {}
        for name in services:
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


def upstream_target(request: Request) -> httpx.URL:
    """The path and query to forward, byte for byte as the client sent them. Refused are paths
    whose decoding could name another path than the one the gateway routed on: an encoded "/",
    a "\\", a "." or ".." segment (httpx and servers resolve them). Control characters were
    refused before routing (``RequestLimits``)."""
    path: bytes = request.scope.get("raw_path") or quote(request.url.path).encode()
    decoded = unquote_to_bytes(path)
    if (
        decoded.count(b"/") != path.count(b"/")
        or b"\\" in decoded
        or any(segment in (b".", b"..") for segment in decoded.split(b"/"))
    ):
        raise ApiError(
            400,
            "invalid_path",
            "the path may not hold an encoded slash (%2F), a backslash, or a '.' or '..' segment",
            "请求路径无效：不得含有编码的斜杠（%2F）、反斜杠或“.”“..”路径段",
        )
    query = request.scope.get("query_string", b"")
    target = path + b"?" + query if query else path
    return httpx.URL(raw_path=quote_from_bytes(target, safe=_TARGET_SAFE).encode())


def public_location(location: str, response: httpx.Response, upstreams: Upstreams) -> str | None:
    """``location`` as the client may see it: one on a service's own origin becomes a path on
    the gateway, so that no redirect names an internal host. None if it is no URL at all."""
    try:
        url = response.request.url.join(location)
    except httpx.InvalidURL:
        return None
    for client in upstreams.clients.values():
        base = client.base_url
        if (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port):
            prefix = base.raw_path.rstrip(b"/")
            target = url.raw_path
            if target.startswith(prefix + b"/"):
                target = target[len(prefix) :]
            return str(httpx.URL(raw_path=target, fragment=url.fragment or None))
    return location


async def forward(request: Request, service: str) -> StreamingResponse:
    target = upstream_target(request)
    upstreams = upstreams_of(request)
    client = upstreams.client(service)
    # Raw bytes both ways: a header value beyond ASCII passes as the client sent it (the service
    # judges it), and repeated headers (Set-Cookie) stay separate instead of being joined.
    headers = [(k, v) for k, v in request.headers.raw if k.decode("latin-1") not in _HOP_BY_HOP]
    if request.client is not None:
        headers.append((b"x-forwarded-for", request.client.host.encode("latin-1")))
    upstream_request = client.build_request(
        request.method, target, headers=headers, content=request.stream()
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
    answer = StreamingResponse(
        response.aiter_raw(),
        status_code=response.status_code,
        background=BackgroundTask(response.aclose),
    )
    for key, value in response.headers.raw:
        name = key.lower().decode("latin-1")
        if name == "location":
            location = public_location(value.decode("latin-1"), response, upstreams)
            if location is None:
                continue
            value = location.encode("latin-1")
        if name not in _HOP_BY_HOP:
            answer.raw_headers.append((key.lower(), value))
    return answer


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
