"""Locks that hold across processes and replicas, and let go when their holder dies.

Two requests for one upload must not interleave, whichever replicas take them. On PostgreSQL a
session advisory lock does it (the server drops it with the connection, so a killed replica
never leaves a lock behind); on SQLite, whose database file only processes of one machine can
share, an ``flock`` on a lock file does the same. A lock that is held elsewhere is not waited
for: the caller is told at once (tus answers 423 and the client retries).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class LockHeldError(Exception):
    """Someone else holds the lock."""


class Locks(Protocol):
    def hold(self, name: str) -> AbstractAsyncContextManager[None]:
        """Hold ``name`` for the block; LockHeldError at once if it is held elsewhere."""
        ...


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


class AdvisoryLocks:
    """PostgreSQL session advisory locks, on a connection of their own for as long as held."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        key = int.from_bytes(_digest(name)[:8], "big", signed=True)
        async with self._engine.connect() as conn:
            got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar()
            await conn.commit()
            if not got:
                raise LockHeldError(name)
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()


class FileLocks:
    """``flock`` on one small file per name, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        self._directory.mkdir(parents=True, exist_ok=True)
        path = self._directory / f"{_digest(name).hex()[:40]}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockHeldError(name) from None
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
