from __future__ import annotations

from fastapi import FastAPI

from quancheng.common.service import ServiceDefinition, create_service_app
from quancheng.common.settings import Settings
from quancheng.common.wiring import Platform
from quancheng.retention.config import MIGRATIONS, SERVICE_NAME

DEFINITION = ServiceDefinition(
    name=SERVICE_NAME,
    title="Quancheng retention 保管与销毁",
    description=(
        "Retention policies, legal holds, destruction lists and certificates, fixity audits."
    ),
    migrations=MIGRATIONS,
    routers=[],
)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or Settings(), platform)
