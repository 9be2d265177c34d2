from __future__ import annotations

from fastapi import FastAPI

from quancheng.common.service import ServiceDefinition, create_service_app
from quancheng.common.settings import Settings
from quancheng.common.wiring import Platform
from quancheng.device_registry import consumers
from quancheng.device_registry.api.routes import credentials, devices, office, staff
from quancheng.device_registry.config import MIGRATIONS, SERVICE_NAME

DEFINITION = ServiceDefinition(
    name=SERVICE_NAME,
    title="Quancheng device registry 设备登记",
    description="Sections, officers and recording devices: registration, issue, return, checks.",
    migrations=MIGRATIONS,
    routers=[
        devices.router,
        staff.router,
        credentials.router,
        credentials.public,
        office.router,
    ],
    consumers=consumers.register,
    prefixes=[
        "/api/v1/devices",
        "/api/v1/sections",
        "/api/v1/officers",
        "/api/v1/docking-stations",
        "/api/v1/upload-clients",
        "/api/v1/device-tokens",
        "/api/v1/allocation",
        "/api/v1/imports",
    ],
)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or Settings(), platform)
