from pathlib import Path

from quancheng.common.db import MigrationSet

SERVICE_NAME = "access-gateway"
MIGRATIONS = MigrationSet(SERVICE_NAME, Path(__file__).parent / "migrations")

# The public API: path prefix → the service that answers it. Longest prefix wins.
ROUTES: dict[str, str] = {
    "/api/v1/devices": "device-registry",
}

UPSTREAMS: tuple[str, ...] = ("device-registry", "ingest", "catalog", "retention")
