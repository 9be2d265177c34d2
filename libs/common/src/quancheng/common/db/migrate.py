"""Alembic migrations, run programmatically: the common tables first, then the service's own.

Each set keeps its own version table, so the common tables (outbox, processed events, audit log)
evolve once for all services while every service owns its schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import create_engine

from quancheng.common.db.database import sqlite_path, sync_url

COMMON_MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class MigrationSet:
    name: str
    directory: Path

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.name.replace('-', '_')}"


COMMON = MigrationSet("common", COMMON_MIGRATIONS_DIR)


def upgrade(url: str, service_set: MigrationSet, *, revision: str = "head") -> None:
    """Bring the database at ``url`` to the newest schema, or the service's tables to
    ``revision`` (blocking; run it in a thread)."""
    if (path := sqlite_path(url)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            for migration_set in (COMMON, service_set):
                config = Config()
                config.set_main_option("script_location", str(migration_set.directory))
                config.attributes["connection"] = connection
                config.attributes["version_table"] = migration_set.version_table
                command.upgrade(config, revision if migration_set is service_set else "head")
    finally:
        engine.dispose()


def run_env() -> None:
    """The body of every ``env.py``: migrate on the connection handed over by :func:`upgrade`."""
    config = context.config
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        version_table=config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
