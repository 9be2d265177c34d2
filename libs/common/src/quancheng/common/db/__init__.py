"""Databases: one per service, SQLite (WAL) in embedded mode, PostgreSQL in distributed mode.

A request gets one session; routes and services never commit, the session's owner does
(``session_scope`` / the ``SessionDep`` dependency), so that events written to the outbox leave
only with the change that caused them.
"""

from quancheng.common.db.database import (
    Database,
    UTCDateTime,
    enum_column,
    session_scope,
    utc_column,
)
from quancheng.common.db.migrate import MigrationSet, upgrade

__all__ = [
    "Database",
    "MigrationSet",
    "UTCDateTime",
    "enum_column",
    "session_scope",
    "upgrade",
    "utc_column",
]
