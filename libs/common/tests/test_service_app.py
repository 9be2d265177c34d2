"""What every service gets from ``create_service_app``: JSON errors (never a stack trace),
health and readiness, metrics, deny by default; and settings read from the environment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from quancheng.common.auth import Role
from quancheng.common.db.migrate import MigrationSet
from quancheng.common.service import ServiceDefinition, create_service_app, secured_router
from quancheng.common.settings import Mode, Settings
from quancheng.common.testing.kit import TokenFactory

router = secured_router(prefix="/api/v1/things")


class Thing(BaseModel):
    name: str
    count: int


@router.post("")
async def make_thing(thing: Thing) -> Thing:
    return thing


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: /etc/passwd")


def things(tmp_path: Path, catch_all: APIRouter | None = None) -> ServiceDefinition:
    """A service of one router, with migrations of its own (none yet)."""
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text(
        "from quancheng.common.db.migrate import run_env\n\nrun_env()\n"
    )
    return ServiceDefinition(
        name="things",
        title="Things",
        description="a test service",
        migrations=MigrationSet("things", tmp_path / "migrations"),
        catch_all=catch_all,
        routers=[router],
    )


@pytest.fixture
async def client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_service_app(things(tmp_path), settings)
    async with app.router.lifespan_context(app):
        # The app's own error handler answers; don't re-raise into the test.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://things") as c:
            yield c


async def test_the_catch_all_router_answers_only_what_no_other_route_does(
    settings: Settings, tmp_path: Path, token: TokenFactory
) -> None:
    catch_all = APIRouter()

    @catch_all.api_route("/{path:path}", methods=["GET", "POST"])
    async def caught(path: str) -> dict[str, str]:
        return {"caught": path}

    # It matches every path, and still answers only where no route of the service does.
    app = create_service_app(things(tmp_path, catch_all=catch_all), settings)
    bearer = {"Authorization": f"Bearer {token('a', Role.OFFICE)}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://things") as client:
            made = await client.post(
                "/api/v1/things", json={"name": "x", "count": 1}, headers=bearer
            )
            health = await client.get("/healthz")
            elsewhere = await client.get("/api/v1/elsewhere")

    assert made.json() == {"name": "x", "count": 1}
    assert "caught" not in health.json()
    assert elsewhere.json() == {"caught": "api/v1/elsewhere"}


async def test_an_unexpected_error_is_a_json_500_without_internals(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    response = await client.get(
        "/api/v1/things/boom", headers={"Authorization": f"Bearer {token('a', Role.OFFICE)}"}
    )

    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert response.json()["message_zh"]
    assert "passwd" not in response.text
    assert "Traceback" not in response.text


async def test_invalid_input_names_the_field(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    response = await client.post(
        "/api/v1/things",
        json={"name": "x", "count": "many"},
        headers={"Authorization": f"Bearer {token('a', Role.OFFICE)}"},
    )

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert [p["field"] for p in body["problems"]] == ["body.count"]
    # The reason in Chinese too, not only that something was wrong.
    assert body["message_zh"] == "body.count：应为整数"


async def test_routes_are_denied_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/things", json={"name": "x", "count": 1})

    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


async def test_health_readiness_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"service": "things", "status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "object_store": True}

    metrics = (await client.get("/metrics")).text

    expected = (
        'quancheng_http_requests_total{method="GET",route="/readyz",service="things",'
        'status="200"} 1.0'
    )
    assert expected in metrics


async def test_readiness_and_metrics_show_the_event_pipeline(client: httpx.AsyncClient) -> None:
    events = (await client.get("/readyz")).json()["events"]
    assert events == {
        "outbox_pending": 0,
        "outbox_oldest_seconds": 0.0,
        "outbox_head_attempts": 0,
        "outbox_last_error": None,
        "dead_letters": 0,
        "failing_events": 0,
    }

    metrics = (await client.get("/metrics")).text

    for figure in ("outbox_pending", "outbox_oldest_seconds", "dead_letters", "failing_events"):
        assert f'quancheng_events{{figure="{figure}",service="things"}} 0.0' in metrics


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANCHENG_MODE", "distributed")
    monkeypatch.setenv("QUANCHENG_DATA_DIR", "/srv/quancheng")
    monkeypatch.setenv("QUANCHENG_DATABASE__INGEST", "postgresql://q@db/ingest")
    monkeypatch.setenv("QUANCHENG_IDENTITY__AUDIENCE", "district")
    monkeypatch.setenv(
        "QUANCHENG_IDENTITY__EXTERNAL_ISSUERS",
        '[{"issuer": "https://idp.example", "jwks_url": "https://idp.example/jwks"}]',
    )

    settings = Settings()

    assert settings.mode is Mode.DISTRIBUTED
    assert settings.database_url("ingest") == "postgresql://q@db/ingest"
    assert settings.database_url("catalog") == "sqlite:////srv/quancheng/db/catalog.sqlite3"
    assert settings.identity.audience == "district"
    assert settings.identity.external_issuers[0].issuer == "https://idp.example"


def test_settings_refuse_a_retention_shorter_than_three_years(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUANCHENG_OBJECT_STORE__DEFAULT_RETENTION_DAYS", "365")

    with pytest.raises(ValueError, match="default_retention_days"):
        Settings()


def test_a_mistyped_setting_is_refused_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANCHENG_DATABASE__INGST", "postgresql://q@db/ingest")

    with pytest.raises(
        ValueError, match=r"QUANCHENG_DATABASE__INGST \(did you mean QUANCHENG_DATABASE__INGEST\?\)"
    ):
        Settings()
