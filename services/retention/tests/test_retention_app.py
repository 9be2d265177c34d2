"""The retention service on its own: it starts, migrates its database and answers as itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import inspect

from quancheng.common.db import Database
from quancheng.common.settings import Settings
from quancheng.retention.main import create_app


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            yield client


async def test_retention_starts_on_a_fresh_data_dir_healthy_and_ready(settings: Settings) -> None:
    assert not settings.data_dir.exists()
    async with running(settings) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"service": "retention", "status": "ok"})
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "object_store": True}


async def test_retention_openapi_has_its_own_title(settings: Settings) -> None:
    async with running(settings) as client:
        schema = (await client.get("/openapi.json")).json()

    assert schema["info"]["title"] == "Quancheng retention 保管与销毁"


async def test_retention_database_has_the_common_tables(settings: Settings) -> None:
    async with running(settings):
        db = Database(settings.database_url("retention"))
        db.connect()
        try:
            async with db.engine.connect() as conn:
                tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await db.dispose()

    assert {
        "outbox",
        "processed_events",
        "dead_letters",
        "audit_log",
        "alembic_version_common",
        "alembic_version_retention",
    } <= tables


async def test_retention_restarts_on_the_same_data_dir(settings: Settings) -> None:
    async with running(settings) as client:
        assert (await client.get("/readyz")).status_code == 200

    async with running(settings) as client:
        assert (await client.get("/readyz")).status_code == 200


async def test_an_unknown_retention_api_path_gets_a_json_error(settings: Settings) -> None:
    async with running(settings) as client:
        response = await client.get("/api/v1/no-such-thing")

    assert response.status_code in {401, 404}
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]
