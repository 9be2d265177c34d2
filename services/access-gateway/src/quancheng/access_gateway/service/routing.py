"""Which service answers a path: the prefixes each service declares in its ``ServiceDefinition``.

The definitions are read from the service distributions installed beside the gateway (found
through the ``quancheng.services`` entry points), so the gateway knows its routes before any
service runs, in both modes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module

from fastapi import Request

from quancheng.access_gateway.config import SERVICE_NAME
from quancheng.common.embedded import service_factories
from quancheng.common.errors import ApiError
from quancheng.common.service import ServiceDefinition


@dataclass(frozen=True)
class Routes:
    # Every service behind the gateway, those without a public path included.
    services: tuple[str, ...]
    # Path prefix → the service that answers it.
    prefixes: Mapping[str, str]

    @classmethod
    def of(cls, definitions: Sequence[ServiceDefinition]) -> Routes:
        prefixes: dict[str, str] = {}
        for definition in definitions:
            for prefix in definition.prefixes:
                if not prefix.startswith("/") or prefix.endswith("/"):
                    raise ValueError(f"{definition.name}: {prefix!r} is no path prefix")
                if prefix in prefixes:
                    raise ValueError(
                        f"{prefix} is declared by {prefixes[prefix]} and by {definition.name}"
                    )
                prefixes[prefix] = definition.name
        return cls(tuple(definition.name for definition in definitions), prefixes)

    def service_for(self, path: str) -> str | None:
        """The service of the longest prefix that matches ``path`` in whole segments."""
        best: tuple[int, str] | None = None
        for prefix, service in self.prefixes.items():
            if (path == prefix or path.startswith(prefix + "/")) and (
                best is None or len(prefix) > best[0]
            ):
                best = (len(prefix), service)
        return best[1] if best else None


def installed_routes() -> Routes:
    """The routes of every service but the gateway, from each one's ``main.DEFINITION``."""
    definitions = []
    for name, factory in service_factories().items():
        if name == SERVICE_NAME:
            continue
        definition = getattr(import_module(factory.__module__), "DEFINITION", None)
        if not isinstance(definition, ServiceDefinition):
            raise RuntimeError(f"{factory.__module__} has no DEFINITION for the gateway to route")
        definitions.append(definition)
    return Routes.of(definitions)


def routes_of(request: Request) -> Routes:
    routes: Routes = request.app.state.routes
    return routes


def service_for(request: Request, path: str) -> str:
    """The service that answers ``path``; a path no service declares is not found."""
    service = routes_of(request).service_for(path)
    if service is None:
        raise ApiError(404, "not_found", f"no such resource: {path}", "请求的资源不存在")
    return service
