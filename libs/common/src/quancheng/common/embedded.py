"""Embedded mode: all five services in one process on one platform, the gateway in front.

The services are found through the ``quancheng.services`` entry points of the installed
distributions, so the common library imports none of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import entry_points
from typing import cast

from fastapi import FastAPI
from starlette.applications import Starlette

from quancheng.common.settings import SERVICES, Settings
from quancheng.common.wiring import Platform

GATEWAY = "access-gateway"
AppFactory = Callable[..., FastAPI]


def service_factories() -> dict[str, AppFactory]:
    found = {ep.name: ep for ep in entry_points(group="quancheng.services")}
    missing = [name for name in SERVICES if name not in found]
    if missing:
        raise RuntimeError(f"services not installed: {', '.join(missing)}")
    return {name: cast(AppFactory, found[name].load()) for name in SERVICES}


def create_embedded_app(settings: Settings) -> FastAPI:
    """One ASGI app: the gateway, with every service's lifespan run inside its own.

    The gateway itself is the app, not mounted in another: a path that a mount's pattern does not
    match (one with a newline in it) would be answered by the outer app, outside the gateway's
    error handling."""
    platform = Platform(settings)
    factories = service_factories()
    apps = {
        name: factory(settings, platform) for name, factory in factories.items() if name != GATEWAY
    }
    gateway = factories[GATEWAY](settings, platform, upstream_apps=apps)
    own_lifespan = gateway.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(platform.running())
            for service in apps.values():
                await stack.enter_async_context(service.router.lifespan_context(service))
            await stack.enter_async_context(own_lifespan(app))
            yield

    gateway.router.lifespan_context = lifespan
    return gateway
