from __future__ import annotations

from fastapi import FastAPI

from quancheng.common.service import ServiceDefinition, create_service_app
from quancheng.common.settings import Settings
from quancheng.common.wiring import Platform
from quancheng.ingest import consumers
from quancheng.ingest.api.routes import uploads
from quancheng.ingest.config import MIGRATIONS, SERVICE_NAME

DEFINITION = ServiceDefinition(
    name=SERVICE_NAME,
    title="Quancheng ingest 采集上传",
    description="Resumable uploads (tus 1.0) of recordings into write-once storage.",
    migrations=MIGRATIONS,
    routers=[uploads.router],
    consumers=consumers.register,
)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or Settings(), platform)
