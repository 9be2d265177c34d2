from pathlib import Path

from quancheng.common.db import MigrationSet

SERVICE_NAME = "retention"
MIGRATIONS = MigrationSet(SERVICE_NAME, Path(__file__).parent / "migrations")
