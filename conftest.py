"""Fixtures shared by every test suite: the test servers, settings on a temporary data dir, the
embedded platform running in-process, tokens from its built-in issuer, and a client of the ``app``
that a service's tests/conftest.py gives. The helpers the suites share are in
:mod:`quancheng.common.testing.kit`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from quancheng.common.auth import BuiltinIssuer, Clearance, Role
from quancheng.common.embedded import create_embedded_app
from quancheng.common.settings import (
    SERVICES,
    BusSettings,
    DatabaseSettings,
    Settings,
    TelemetrySettings,
)
from quancheng.common.testing.kafka import KafkaServer
from quancheng.common.testing.kit import Embedded, Headers, TokenFactory, bearer, client_of, started
from quancheng.common.testing.minio import MinioServer
from quancheng.common.testing.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One private PostgreSQL cluster for the whole run; each test takes its own database."""
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kafka_server() -> Iterator[KafkaServer]:
    """One private Kafka broker for the whole run; tests use their own topics and groups."""
    server = KafkaServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def minio_server() -> Iterator[MinioServer]:
    """One private MinIO server for the whole run; each test takes its own bucket."""
    server = MinioServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind the services run on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"t_{uuid.uuid4().hex}")


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on a temporary data dir; the services' databases are SQLite files or, in the
    second run of each test, PostgreSQL databases of their own."""
    databases = DatabaseSettings()
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        urls = {
            name.replace("-", "_"): server.create_database(f"s_{uuid.uuid4().hex}")
            for name in SERVICES
        }
        databases = DatabaseSettings.model_validate(urls)
    return Settings(
        data_dir=tmp_path / "var",
        database=databases,
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


@pytest.fixture
def office(token: TokenFactory) -> Headers:
    """The headers of the office (办公室), which registers staff and devices."""
    return bearer(token("office-1", Role.OFFICE))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app``, the service that the test directory's conftest gives."""
    async with client_of(app) as client:
        yield client


@pytest.fixture
async def embedded(settings: Settings, issuer: BuiltinIssuer) -> AsyncIterator[Embedded]:
    """All five services in this process, reached through the gateway like a client would."""
    async with (
        started(create_embedded_app(settings)) as app,
        client_of(app, base_url="http://testserver") as client,
    ):
        yield Embedded(app, client, settings)
