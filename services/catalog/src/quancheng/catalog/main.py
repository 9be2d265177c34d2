from __future__ import annotations

from fastapi import FastAPI

from quancheng.catalog import consumers
from quancheng.catalog.api.routes import (
    activities,
    archive,
    compliance,
    enterprises,
    records,
    statistics,
)
from quancheng.catalog.config import MIGRATIONS, SERVICE_NAME
from quancheng.common.service import ServiceDefinition, create_service_app
from quancheng.common.settings import Settings
from quancheng.common.wiring import Platform

DEFINITION = ServiceDefinition(
    name=SERVICE_NAME,
    title="Quancheng catalog 档案目录",
    description=(
        "Records, activities, enterprises, recording duties, compliance, search, statistics and "
        "archive export."
    ),
    migrations=MIGRATIONS,
    routers=[
        records.router,
        enterprises.router,
        activities.router,
        compliance.router,
        archive.router,
        statistics.router,
    ],
    consumers=consumers.register,
    prefixes=[
        "/api/v1/records",
        "/api/v1/enterprises",
        "/api/v1/activities",
        "/api/v1/recording-duties",
        "/api/v1/compliance",
        "/api/v1/exemptions",
        "/api/v1/archive",
        "/api/v1/cases",
        "/api/v1/statistics",
    ],
)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or Settings(), platform)
