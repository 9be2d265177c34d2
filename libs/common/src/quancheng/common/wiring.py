"""The one place where adapters are chosen from settings.

A :class:`Platform` is what the services of one process share: the event bus, the object store and
the identity machinery. ``quancheng up`` runs five services on one platform; ``quancheng serve``
runs one service on its own. Building a platform does no I/O; :meth:`Platform.running` starts it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx

from quancheng.common.auth import (
    BuiltinIssuer,
    RemoteJwks,
    StaticKeys,
    TokenVerifier,
    TrustedIssuer,
)
from quancheng.common.db import Database
from quancheng.common.events import EventBus, InProcessBus
from quancheng.common.events.kafka import KafkaBus
from quancheng.common.locks import AdvisoryLocks, FileLocks, Locks
from quancheng.common.settings import BusKind, ObjectStoreKind, Settings
from quancheng.common.storage import LocalObjectStore, ObjectStore
from quancheng.common.storage.minio import MinioObjectStore


def make_bus(settings: Settings) -> EventBus:
    match settings.bus.kind:
        case BusKind.INPROCESS:
            return InProcessBus()
        case BusKind.KAFKA:
            return KafkaBus(settings.bus.kafka)


def make_locks(db: Database, directory: Path) -> Locks:
    """Locks across replicas: advisory locks on PostgreSQL; on SQLite (one machine), file locks
    in ``directory``."""
    return FileLocks(directory) if db.is_sqlite else AdvisoryLocks(db.engine)


def make_object_store(settings: Settings) -> ObjectStore:
    match settings.object_store.kind:
        case ObjectStoreKind.LOCAL:
            return LocalObjectStore(
                settings.objects_root,
                default_retention=timedelta(days=settings.object_store.default_retention_days),
            )
        case ObjectStoreKind.MINIO:
            return MinioObjectStore(settings.object_store)


class Platform:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bus = make_bus(settings)
        self.store = make_object_store(settings)
        self._issuer: BuiltinIssuer | None = None
        self._verifier: TokenVerifier | None = None
        self._http: httpx.AsyncClient | None = None

    @property
    def issuer(self) -> BuiltinIssuer | None:
        """The built-in issuer (None when disabled); available once the platform runs."""
        return self._issuer

    @property
    def verifier(self) -> TokenVerifier:
        if self._verifier is None:
            raise RuntimeError("the platform is not running")
        return self._verifier

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Platform]:
        identity = self.settings.identity
        self._http = httpx.AsyncClient()
        trusted: list[TrustedIssuer] = []
        if identity.builtin_enabled:
            self._issuer = BuiltinIssuer.from_directory(
                self.settings.identity_dir, issuer=identity.issuer, audience=identity.audience
            )
            trusted.append(
                TrustedIssuer(identity.issuer, identity.audience, StaticKeys(self._issuer.jwks))
            )
        for external in identity.external_issuers:
            keys = RemoteJwks(
                str(external.jwks_url), self._http, cache_seconds=identity.jwks_cache_seconds
            )
            trusted.append(
                TrustedIssuer(external.issuer, external.audience or identity.audience, keys)
            )
        self._verifier = TokenVerifier(trusted, leeway_seconds=identity.leeway_seconds)
        await self.bus.start()
        try:
            yield self
        finally:
            await self.bus.stop()
            self.store.close()
            await self._http.aclose()
            self._verifier = None
