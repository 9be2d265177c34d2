"""Fixtures shared by every test suite: settings on a temporary data dir, the embedded platform
running in-process, and tokens from its built-in issuer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from quancheng.common.auth import BuiltinIssuer, Clearance, Role
from quancheng.common.embedded import create_embedded_app
from quancheng.common.settings import BusSettings, Settings, TelemetrySettings

TokenFactory = Callable[..., str]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        bus=BusSettings(relay_interval_seconds=0.2),
        telemetry=TelemetrySettings(json_logs=False, log_level="WARNING"),
    )


@pytest.fixture
def issuer(settings: Settings) -> BuiltinIssuer:
    """The data dir's built-in issuer (the platform loads the same key when it starts)."""
    return BuiltinIssuer.from_directory(
        settings.identity_dir, issuer=settings.identity.issuer, audience=settings.identity.audience
    )


@pytest.fixture
def token(issuer: BuiltinIssuer) -> TokenFactory:
    def mint(
        sub: str = "tester",
        *roles: Role,
        section: str | None = None,
        clearance: Clearance = Clearance.INTERNAL,
    ) -> str:
        return issuer.mint(sub, roles, section=section, clearance=clearance)

    return mint


@dataclass
class Embedded:
    app: Starlette
    client: httpx.AsyncClient
    settings: Settings

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def embedded(settings: Settings, issuer: BuiltinIssuer) -> AsyncIterator[Embedded]:
    """All five services in this process, reached through the gateway like a client would."""
    app = create_embedded_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Embedded(app, client, settings)
