"""Every service as ``create_service_app`` makes it: it starts on a fresh data dir, migrates its
database, answers health, readiness, metrics and its OpenAPI as itself, restarts, and refuses
without a token every route it does not declare public (deny by default).

The services are those the ``quancheng.services`` entry points name; the gateway is run as the
embedded platform, since it answers for the services behind it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import inspect

from quancheng.common.auth import current_principal
from quancheng.common.embedded import GATEWAY, create_embedded_app, service_factories
from quancheng.common.service import ServiceDefinition
from quancheng.common.settings import SERVICES, Settings
from quancheng.common.testing.kit import client_of, database_of, service_client, started

AppFactory = Callable[[Settings], FastAPI]
COMMON_TABLES = {"outbox", "processed_events", "dead_letters", "audit_log"}


@pytest.fixture(params=SERVICES)
def service(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def create_app(service: str) -> AppFactory:
    return create_embedded_app if service == GATEWAY else service_factories()[service]


def definition_of(app: FastAPI) -> ServiceDefinition:
    definition: ServiceDefinition = app.state.service.definition
    return definition


def public_operations(definition: ServiceDefinition) -> set[tuple[str, str]]:
    """(method, path) of every route a client may call without a token: health, readiness and
    the routes of the routers that are not secured."""
    return {("get", "/healthz"), ("get", "/readyz")} | {
        (method.lower(), route.path)
        for router in (*definition.routers, *definition.forwarders)
        if not any(d.dependency is current_principal for d in router.dependencies)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }


async def test_a_service_starts_on_a_fresh_data_dir_healthy_and_ready(
    settings: Settings, service: str, create_app: AppFactory
) -> None:
    assert not settings.data_dir.exists()
    async with service_client(create_app, settings) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")

    expected: dict[str, Any] = {"service": service, "status": "ok"}
    if service == GATEWAY:
        expected["services"] = dict.fromkeys(SERVICES, "ok")  # itself and each one behind it
    assert (health.status_code, health.json()) == (200, expected)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "object_store": True}


async def test_a_service_openapi_has_its_own_title(
    settings: Settings, create_app: AppFactory
) -> None:
    async with started(create_app(settings)) as app, client_of(app) as client:
        schema = (await client.get("/openapi.json")).json()

    assert schema["info"]["title"] == definition_of(app).title


async def test_a_service_counts_its_requests_in_its_metrics(
    settings: Settings, service: str, create_app: AppFactory
) -> None:
    async with service_client(create_app, settings) as client:
        assert (await client.get("/readyz")).status_code == 200
        metrics = (await client.get("/metrics")).text

    expected = (
        f'quancheng_http_requests_total{{method="GET",route="/readyz",service="{service}",'
        'status="200"} 1.0'
    )
    assert expected in metrics


async def test_a_service_database_has_the_common_tables(
    settings: Settings, service: str, create_app: AppFactory
) -> None:
    async with (
        started(create_app(settings)) as app,
        database_of(settings, service) as db,
        db.engine.connect() as conn,
    ):
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))

    version_table = definition_of(app).migrations.version_table
    assert COMMON_TABLES | {"alembic_version_common", version_table} <= tables


async def test_a_service_restarts_on_the_same_data_dir(
    settings: Settings, create_app: AppFactory
) -> None:
    async with service_client(create_app, settings) as client:
        assert (await client.get("/readyz")).status_code == 200

    async with service_client(create_app, settings) as client:
        assert (await client.get("/readyz")).status_code == 200


async def test_an_unknown_api_path_gets_a_json_error(
    settings: Settings, create_app: AppFactory
) -> None:
    async with service_client(create_app, settings) as client:
        response = await client.get("/api/v1/no-such-thing")

    assert response.status_code in {401, 404}
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]


async def test_a_service_refuses_every_route_it_does_not_declare_public_without_a_token(
    settings: Settings, create_app: AppFactory
) -> None:
    async with started(create_app(settings)) as app, client_of(app) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
        public = public_operations(definition_of(app))
        refused = {}
        for path, operations in paths.items():
            # Any value will do for a path parameter: the token is asked for first.
            url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000001", path)
            for method in set(operations) - {m for m, p in public if p == path}:
                response = await client.request(method, url)
                refused[f"{method} {path}"] = response.status_code

    assert {op: status for op, status in refused.items() if status != 401} == {}
