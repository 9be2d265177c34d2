from pathlib import Path

from quancheng.common.db import MigrationSet

SERVICE_NAME = "catalog"
MIGRATIONS = MigrationSet(SERVICE_NAME, Path(__file__).parent / "migrations")
# The most records one access request may name (POST /api/v1/records/selection).
MAX_SELECTION = 2000
