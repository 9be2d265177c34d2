"""The gateway's one OpenAPI document of the public API: every operation a client may call through
it, with its security scheme and the errors it really gives."""

from __future__ import annotations

from typing import Any

from quancheng.access_gateway.service.routing import Routes
from quancheng.common.testing.kit import Embedded


async def document(embedded: Embedded) -> dict[str, Any]:
    response = await embedded.client.get("/openapi.json")
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


async def test_the_document_lists_every_service_operation_and_no_private_one(
    embedded: Embedded,
) -> None:
    doc = await document(embedded)
    paths = doc["paths"]
    routes = embedded.app.state.routes  # the embedded app is the gateway itself
    assert isinstance(routes, Routes)

    # Every public prefix of the route table has its operations in the document.
    for prefix, service in routes.prefixes.items():
        assert any(
            routes.service_for(path) == service and path.startswith(prefix) for path in paths
        ), prefix
    assert {"/api/v1/records", "/api/v1/devices", "/files/", "/files/{upload_id}"} <= set(paths)
    assert {"/api/v1/me", "/.well-known/jwks.json", "/healthz"} <= set(paths)
    private = [
        p for p in paths if p.endswith(("/metrics", "/openapi.json")) and p != "/openapi.json"
    ]
    assert not private
    assert sum(len(item) for item in paths.values()) > 60


async def test_every_operation_names_its_security_and_the_platforms_errors(
    embedded: Embedded,
) -> None:
    doc = await document(embedded)
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"

    records = doc["paths"]["/api/v1/records"]["get"]
    assert records["security"] == [{"bearer": []}]
    assert {"400", "401", "403", "404", "422", "503"} <= set(records["responses"])
    assert records["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationProblems"
    }
    assert "Retry-After" in records["responses"]["503"]["headers"]
    # Public operations need no token, and don't claim a 401 for the lack of one.
    assert "security" not in doc["paths"]["/api/v1/device-tokens"]["post"]
    jwks = doc["paths"]["/.well-known/jwks.json"]["get"]
    assert "security" not in jwks
    assert "401" not in jwks["responses"]
    # tus's own statuses and headers.
    patch = doc["paths"]["/files/{upload_id}"]["patch"]["responses"]
    assert {"204", "409", "412", "460", "423", "507"} <= set(patch)
    assert "Upload-Offset" in patch["204"]["headers"]


async def test_the_documentation_page_is_served_without_a_token(embedded: Embedded) -> None:
    page = await embedded.client.get("/docs")

    assert page.status_code == 200
    assert "/openapi.json" in page.text
