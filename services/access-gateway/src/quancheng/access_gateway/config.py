from pathlib import Path

from quancheng.common.db import MigrationSet

SERVICE_NAME = "access-gateway"
MIGRATIONS = MigrationSet(SERVICE_NAME, Path(__file__).parent / "migrations")

# The public API: path prefix → the service that answers it. Longest prefix wins.
ROUTES: dict[str, str] = {
    "/api/v1/devices": "device-registry",
    "/api/v1/sections": "device-registry",
    "/api/v1/officers": "device-registry",
    "/api/v1/docking-stations": "device-registry",
    "/api/v1/upload-clients": "device-registry",
    "/api/v1/device-tokens": "device-registry",
    "/api/v1/allocation": "device-registry",
    "/api/v1/imports": "device-registry",
    "/api/v1/upload-permission": "ingest",
    "/api/v1/uploads": "ingest",
    "/files": "ingest",  # tus
    "/api/v1/records": "catalog",
    "/api/v1/enterprises": "catalog",
    "/api/v1/activities": "catalog",
    "/api/v1/recording-duties": "catalog",
    "/api/v1/compliance": "catalog",
    "/api/v1/archive": "catalog",
    "/api/v1/cases": "catalog",
    "/api/v1/statistics": "catalog",
}

# Where the gateway asks, on every request a device token makes, whether the credentials behind
# it still work (revoked credentials, or a lost or retired device, stop at once).
DEVICE_TOKEN_STATUS = ("device-registry", "/api/v1/device-tokens/current")

UPSTREAMS: tuple[str, ...] = ("device-registry", "ingest", "catalog", "retention")
