"""What every service is made of: ``create_service_app`` builds a FastAPI app with its database and
migrations, outbox relay, consumers, health and readiness, metrics, traces and JSON errors.

Nothing connects when the app is built; the lifespan connects, migrates and starts the relay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.auth import current_principal
from quancheng.common.db import Database, MigrationSet, session_scope, upgrade
from quancheng.common.errors import KeptRefusalError, install_error_handlers
from quancheng.common.events import Consumers, OutboxRelay
from quancheng.common.limits import RequestLimits
from quancheng.common.query import refuse_unknown_query
from quancheng.common.settings import Settings
from quancheng.common.telemetry import Metrics, configure_process, instrument_app
from quancheng.common.wiring import Platform

log = logging.getLogger(__name__)

LifespanHook = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str
    description: str
    migrations: MigrationSet
    routers: Sequence[APIRouter]
    consumers: Callable[[Consumers], None] | None = None
    lifespan_hooks: Sequence[LifespanHook] = field(default_factory=tuple)
    # Extra facts for /healthz (the gateway reports every service's health there).
    health_details: Callable[[Request], Awaitable[dict[str, Any]]] | None = None
    # None: the service serves a document of its own making (the gateway's merged one).
    openapi_url: str | None = "/openapi.json"
    # Extra facts for /readyz (the gateway reports every service's readiness and events there).
    ready_details: Callable[[Request], Awaitable[dict[str, Any]]] | None = None
    # Routers after ``routers`` that pass requests on to a service, which judges their query.
    forwarders: Sequence[APIRouter] = field(default_factory=tuple)
    # The router for every path no other route answers (the gateway's proxy): included after all
    # the others, whatever order the lists above are in.
    catch_all: APIRouter | None = None
    # The public path prefixes the gateway routes to this service: whole segments, the longest
    # prefix of a path wins. Every operation but health and readiness lies under one of them.
    prefixes: Sequence[str] = field(default_factory=tuple)


@dataclass
class ServiceState:
    """Everything a running service holds; routes reach it through ``request.app.state.service``."""

    definition: ServiceDefinition
    settings: Settings
    platform: Platform
    db: Database
    relay: OutboxRelay
    consumers: Consumers


def service_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed after the route returns, before the response, and
    after a ``KeptRefusalError``; rolled back after any other error."""
    async with session_scope(service_state(request).db) as session:
        try:
            yield session
        except KeptRefusalError:
            await session.commit()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
State = Annotated[ServiceState, Depends(service_state)]


def secured_router(**kwargs: Any) -> APIRouter:
    """A router whose every route needs a verified token (deny by default)."""
    return APIRouter(dependencies=[Depends(current_principal)], **kwargs)


def _health_router(definition: ServiceDefinition) -> APIRouter:
    router = APIRouter(tags=["health"])
    name = definition.name

    @router.get("/healthz", summary="Liveness")
    async def healthz(request: Request) -> dict[str, Any]:
        details = await definition.health_details(request) if definition.health_details else {}
        return {"service": name, "status": "ok", **details}

    @router.get("/readyz", summary="Readiness: database and object store reachable")
    async def readyz(request: Request, state: State) -> JSONResponse:
        checks = {
            "database": await state.db.ping(),
            "object_store": await state.platform.store.ping(),
        }
        ready = all(checks.values())
        body: dict[str, Any] = {
            "service": name,
            "status": "ready" if ready else "not_ready",
            "checks": checks,
        }
        if checks["database"]:
            # Shown, not judged: a pipeline held up by the bus or by dead letters is for an
            # operator to see; taking the service out of rotation would not move it.
            body["events"] = await event_figures(state)
        if definition.ready_details is not None:
            body.update(await definition.ready_details(request))
        return JSONResponse(body, status_code=200 if ready else 503)

    return router


async def event_figures(state: ServiceState) -> dict[str, Any]:
    """The service's outbox relay and consumers: what waits, what failed, what was set aside."""
    return {**await state.relay.status(), **await state.consumers.status()}


def create_service_app(
    definition: ServiceDefinition, settings: Settings, platform: Platform | None = None
) -> FastAPI:
    """Build the service. Without ``platform`` the app owns one and starts it in its lifespan."""
    owns_platform = platform is None
    platform = platform or Platform(settings)
    db = Database(
        settings.database_url(definition.name),
        pool_size=settings.database.pool_size,
        echo=settings.database.echo,
    )
    relay = OutboxRelay(db, platform.bus, interval=settings.bus.relay_interval_seconds)
    consumers = Consumers(definition.name, db, max_attempts=settings.bus.max_delivery_attempts)
    if definition.consumers is not None:
        definition.consumers(consumers)
    consumers.attach(platform.bus)
    state = ServiceState(definition, settings, platform, db, relay, consumers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_process(settings.telemetry, definition.name)
        async with AsyncExitStack() as stack:
            if owns_platform:
                await stack.enter_async_context(platform.running())
            app.state.verifier = platform.verifier
            await anyio.to_thread.run_sync(upgrade, db.url, definition.migrations)
            db.connect()
            stack.push_async_callback(db.dispose)
            consumers.ready()
            stack.push_async_callback(consumers.stop)
            relay_task = asyncio.create_task(relay.run(), name=f"{definition.name}-outbox-relay")
            stack.push_async_callback(_stop_relay, relay, relay_task)
            for hook in definition.lifespan_hooks:
                await stack.enter_async_context(hook(app))
            yield

    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version="0.1.0",
        lifespan=lifespan,
        redirect_slashes=False,
        openapi_url=definition.openapi_url,
    )
    app.state.service = state
    install_error_handlers(app)
    app.add_middleware(RequestLimits, settings=settings.limits)
    Metrics(definition.name).install(app, events=lambda: event_figures(state))
    checked = [Depends(refuse_unknown_query)]
    app.include_router(_health_router(definition), dependencies=checked)
    for router in definition.routers:
        app.include_router(router, dependencies=checked)
    for router in definition.forwarders:
        app.include_router(router)
    if definition.catch_all is not None:
        app.include_router(definition.catch_all)
    instrument_app(app)
    return app


async def _stop_relay(relay: OutboxRelay, task: asyncio.Task[None]) -> None:
    relay.stop()
    try:
        await asyncio.wait_for(task, timeout=10)
    except TimeoutError:
        log.warning("outbox relay did not stop in time; cancelled")
