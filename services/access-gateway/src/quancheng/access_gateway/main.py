from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace

from fastapi import FastAPI
from starlette.types import ASGIApp

from quancheng.access_gateway import consumers
from quancheng.access_gateway.api.routes import (
    access,
    accounts,
    console,
    docs,
    identity,
    proxy,
    viewing,
)
from quancheng.access_gateway.config import MIGRATIONS, SERVICE_NAME
from quancheng.access_gateway.service import access as access_rules
from quancheng.access_gateway.service.health import health_of_services, readiness_of_services
from quancheng.access_gateway.service.proxy import upstreams_hook
from quancheng.access_gateway.service.routing import installed_routes
from quancheng.common.db import session_scope
from quancheng.common.service import ServiceDefinition, create_service_app
from quancheng.common.settings import Settings
from quancheng.common.wiring import Platform

log = logging.getLogger(__name__)


@asynccontextmanager
async def grant_sweeper(app: FastAPI) -> AsyncIterator[None]:
    """Grants begin and end on time even when nobody looks at them: their events leave then."""
    state = app.state.service

    async def sweep() -> None:
        while True:
            await asyncio.sleep(state.settings.gateway.grant_sweep_seconds)
            try:
                async with session_scope(state.db) as session:
                    await access_rules.catch_up(session)
            except Exception:  # a failed sweep is retried on the next round
                log.exception("the grant sweep failed")

    task = asyncio.create_task(sweep(), name="gateway-grant-sweeper")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


DEFINITION = ServiceDefinition(
    name=SERVICE_NAME,
    title="Quancheng 全程 API",
    description="The public entry of Quancheng: every request is authenticated here first.",
    migrations=MIGRATIONS,
    routers=[
        console.public,
        docs.public,
        identity.public,
        accounts.public,
        viewing.public,
        identity.router,
        accounts.router,
        access.router,
        viewing.router,
    ],
    consumers=consumers.register,
    forwarders=[proxy.public],
    catch_all=proxy.router,
    health_details=health_of_services,
    ready_details=readiness_of_services,
    openapi_url=None,
)


def create_app(
    settings: Settings | None = None,
    platform: Platform | None = None,
    upstream_apps: Mapping[str, ASGIApp] | None = None,
) -> FastAPI:
    """The gateway. ``upstream_apps`` (embedded mode) are reached in-process; otherwise by URL."""
    routes = installed_routes()
    definition = replace(
        DEFINITION,
        lifespan_hooks=[upstreams_hook(routes.services, upstream_apps), grant_sweeper],
    )
    app = create_service_app(definition, settings or Settings(), platform)
    app.state.routes = routes
    return app
