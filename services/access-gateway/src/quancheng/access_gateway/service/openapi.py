"""The public API's one OpenAPI document: every operation a client may call through the gateway,
taken from the services' own documents, with the security scheme and the error responses that
the gateway and the services really give (the services' documents, read on their own, know
neither the gateway's refusals nor the platform's error shape)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

import httpx
from fastapi import FastAPI, Request

from quancheng.access_gateway.config import OWN_RESPONSES, PUBLIC_OPERATIONS
from quancheng.access_gateway.service.proxy import upstreams_of
from quancheng.access_gateway.service.routing import Routes, routes_of
from quancheng.common.errors import ApiError

_REF = "#/components/schemas/"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "description": "Every error the platform gives: a stable code and the reason in English and "
    "Chinese; some errors add fields of their own (the invalid key, the records concerned).",
    "type": "object",
    "required": ["error", "message", "message_zh"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "message_zh": {"type": "string"},
    },
    "additionalProperties": True,
}
PROBLEMS_SCHEMA: dict[str, Any] = {
    "title": "ValidationProblems",
    "description": "A request that failed validation: each field with its reason.",
    "allOf": [
        {"$ref": _REF + "Error"},
        {
            "type": "object",
            "properties": {
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "problem": {"type": "string"},
                            "problem_zh": {"type": "string"},
                        },
                    },
                }
            },
        },
    ],
}

# What any operation may answer besides its own outcomes, and when.
_ERRORS: dict[str, str] = {
    "400": "the request is malformed (a bad path, header, query parameter or time) 请求有误",
    "401": "no valid bearer token 未认证",
    "403": "the caller's role, section or clearance does not allow it 无权操作",
    "404": "no such resource, or none the caller may see 未找到",
    "408": "the request body did not arrive in time 请求超时",
    "409": "the resource's state does not allow it 状态冲突",
    "413": "the request body is too large 请求内容过大",
    "422": "the body or a parameter fails validation 请求内容不符合要求",
    "502": "a service behind the gateway did not answer 服务暂不可用",
    "503": "the database or object store is down for now; retry after Retry-After 暂不可用",
}
_PHRASES = {"460": "Checksum Mismatch (tus)"}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


async def merged(request: Request) -> dict[str, Any]:
    """The document, built once from the services' (a service that does not answer leaves it
    unbuilt, and the next request tries again)."""
    app: FastAPI = request.app
    cached: dict[str, Any] | None = getattr(app.state, "merged_openapi", None)
    if cached is not None:
        return cached
    clients = upstreams_of(request).clients

    async def document(name: str, client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
        try:
            response = await client.get("/openapi.json", timeout=10.0)
            response.raise_for_status()
            doc: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ApiError(
                502,
                "upstream_unavailable",
                f"{name} did not give its OpenAPI: {exc.__class__.__name__}",
                f"服务 {name} 暂不可用",
                headers={"Retry-After": "5"},
            ) from exc
        return name, doc

    documents = await asyncio.gather(*(document(n, c) for n, c in clients.items()))
    built = build(app.openapi(), dict(documents), routes_of(request))
    app.state.merged_openapi = built
    return built


def build(
    gateway: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]], routes: Routes
) -> dict[str, Any]:
    """The gateway's own document with each service's public operations (those ``routes``
    sends to it) merged in."""
    doc = copy.deepcopy(dict(gateway))
    paths: dict[str, Any] = dict(doc.get("paths", {}))
    schemas: dict[str, Any] = dict(doc.get("components", {}).get("schemas", {}))
    for service, service_doc in services.items():
        renames = _renames(service, service_doc.get("components", {}).get("schemas", {}), schemas)
        for name, schema in service_doc.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(name, name)] = _rewrite(schema, renames)
        for path, item in service_doc.get("paths", {}).items():
            if routes.service_for(path) == service:
                paths[path] = _rewrite(item, renames)
    for path, item in paths.items():
        for method, operation in _operations(item):
            _complete(path, method, operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_SCHEMA
    schemas["ValidationProblems"] = PROBLEMS_SCHEMA
    doc["paths"] = dict(sorted(paths.items()))
    doc["components"] = {
        **doc.get("components", {}),
        "schemas": dict(sorted(schemas.items())),
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "RS256 token of a trusted issuer, carrying aud, iss, sub and exp",
            }
        },
    }
    return doc


def _renames(service: str, theirs: Mapping[str, Any], ours: Mapping[str, Any]) -> dict[str, str]:
    """A service's schema names that another service already uses for another shape."""
    prefix = "".join(part.title() for part in service.split("-"))
    return {
        name: prefix + name
        for name, schema in theirs.items()
        if name in ours and ours[name] != schema
    }


def _rewrite(node: Any, renames: Mapping[str, str]) -> Any:
    if not renames:
        return copy.deepcopy(node)
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF):
                name = value.removeprefix(_REF)
                out[key] = _REF + renames.get(name, name)
            else:
                out[key] = _rewrite(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite(item, renames) for item in node]
    return node


def _operations(item: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for method in _METHODS:
        operation = item.get(method)
        if isinstance(operation, dict):
            yield method, operation


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    """The security scheme and every error the operation may really give."""
    public = method in PUBLIC_OPERATIONS.get(path, ())
    if not public:
        operation["security"] = [{"bearer": []}]
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = set(_ERRORS) - ({"401", "403"} if public else set())
    if method in ("get", "head", "options"):
        statuses.discard("409")
    for status, headers in OWN_RESPONSES.get((path, method), {}).items():
        description = _PHRASES.get(status) or HTTPStatus(int(status)).phrase
        responses.setdefault(status, {"description": description, "headers": headers})
    for status in sorted(statuses):
        schema = "ValidationProblems" if status == "422" else "Error"
        response: dict[str, Any] = {
            "description": _ERRORS[status],
            "content": {"application/json": {"schema": {"$ref": _REF + schema}}},
        }
        if status in ("502", "503"):
            response["headers"] = _RETRY_AFTER
        # The platform's own shape replaces FastAPI's default 422 body.
        if status == "422" or status not in responses:
            responses[status] = response
