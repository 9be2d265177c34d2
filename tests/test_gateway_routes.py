"""Every operation of every service is reachable through the gateway, and refused there without a
token unless it is one of the documented public ones. A service's own tests bypass the gateway:
an operation outside the prefixes its definition declares passes them, and fails here."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI

from quancheng.access_gateway.config import PUBLIC_OPERATIONS
from quancheng.access_gateway.service.proxy import Upstreams
from quancheng.common.auth import Role
from quancheng.common.embedded import GATEWAY
from quancheng.common.settings import SERVICES
from quancheng.common.testing.kit import Embedded, TokenFactory, bearer

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (method, path) of an OpenAPI document."""
    return [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in _METHODS
        if method in item
    ]


def error_of(response: httpx.Response) -> object:
    """The error code of a JSON answer, which tells the gateway's "no route" 404 (``not_found``)
    from a service's own."""
    json = response.headers.get("content-type", "").startswith("application/json")
    if not json or not response.content:  # a HEAD's answer has no body
        return None
    body = response.json()
    return body.get("error") if isinstance(body, dict) else None


async def test_every_operation_of_every_service_is_reachable_through_the_gateway(
    embedded: Embedded, token: TokenFactory
) -> None:
    gateway = embedded.app  # the embedded app is the gateway itself
    assert isinstance(gateway, FastAPI)
    upstreams = gateway.state.upstreams
    assert isinstance(upstreams, Upstreams)
    office = bearer(token("office-1", Role.OFFICE))
    forwarded: list[str] = []

    async def record(request: httpx.Request) -> None:
        forwarded.append(request.url.host)

    for client in upstreams.clients.values():
        hooks = client.event_hooks
        client.event_hooks = {**hooks, "request": [*hooks["request"], record]}
    # Each service's document as it serves it. What the gateway's own document holds (health,
    # identity, documentation) the gateway answers itself.
    docs = {GATEWAY: gateway.openapi()}
    for name, client in upstreams.clients.items():
        response = await client.get("/openapi.json")
        assert response.status_code == 200, response.text
        docs[name] = response.json()
    own = set(docs[GATEWAY]["paths"])

    walked = dict.fromkeys(docs, 0)
    problems: list[str] = []
    for service, doc in docs.items():
        for method, path in operations(doc):
            walked[service] += 1
            url = re.sub(r"\{[^}/]+\}", "x", path)
            public = method.lower() in PUBLIC_OPERATIONS.get(path, ())
            answerer = GATEWAY if path in own else service
            for headers in ({}, office):
                forwarded.clear()
                response = await embedded.client.request(method, url, headers=headers)
                seen = f"{service} {method} {path} {'with' if headers else 'without'} a token: "
                seen += f"{response.status_code} {error_of(response)}, forwarded to {forwarded}"
                if not headers and not public:
                    if (response.status_code, forwarded) != (401, []):
                        problems.append(seen)
                elif (response.status_code, error_of(response)) == (404, "not_found") or (
                    answerer != GATEWAY and forwarded != [answerer]
                ):
                    problems.append(seen)

    assert problems == []
    assert set(walked) == set(SERVICES)
    assert sum(walked.values()) > 60, walked
