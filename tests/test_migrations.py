"""Every service's migrations run on both databases it supports, and run again harmlessly."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from quancheng.access_gateway.config import MIGRATIONS as GATEWAY
from quancheng.catalog.config import MIGRATIONS as CATALOG
from quancheng.common.db import MigrationSet, upgrade
from quancheng.common.db.database import sync_url
from quancheng.device_registry.config import MIGRATIONS as REGISTRY
from quancheng.ingest.config import MIGRATIONS as INGEST
from quancheng.retention.config import MIGRATIONS as RETENTION

COMMON_TABLES = {"outbox", "processed_events", "dead_letters", "audit_log"}
OWN_TABLES = {
    "device-registry": {"devices", "device_events"},
    "ingest": {"known_devices"},
    "catalog": {"known_sections", "known_officers"},
    "access-gateway": {"accounts", "access_requests", "section_heads", "viewing_sessions"},
    "retention": set(),
}


@pytest.mark.parametrize(
    "migrations", [REGISTRY, INGEST, CATALOG, GATEWAY, RETENTION], ids=lambda m: m.name
)
def test_migrations_build_the_schema_and_are_idempotent(
    database_url: str, migrations: MigrationSet
) -> None:
    upgrade(database_url, migrations)
    upgrade(database_url, migrations)

    engine = create_engine(sync_url(database_url))
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables >= COMMON_TABLES | OWN_TABLES[migrations.name]
    assert {"alembic_version_common", migrations.version_table} <= tables
