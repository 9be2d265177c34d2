from pathlib import Path

from quancheng.common.db import MigrationSet

SERVICE_NAME = "device-registry"
MIGRATIONS = MigrationSet(SERVICE_NAME, Path(__file__).parent / "migrations")
