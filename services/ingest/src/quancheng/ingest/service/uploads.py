"""Uploads: created, fed with bytes request by request, finished into a write-once original.

Every step is short and idempotent, and the whole state of an upload lives in its database row
and the object store, so that any replica can take any request and a crash at any moment loses
nothing:

* Bytes stream into the object store as multipart parts while they arrive; the SHA-256 of the
  whole file runs alongside (its state saved with the row), so no file is ever read back.
  Bytes that do not yet make a part wait in the row (``tail``), never in a process.
* A request's progress (offset, parts, tail, hash state) is committed only after its bytes are
  stored; a request that dies half-way leaves the row as it was and the client resumes from it.
* The last bytes move the upload to FINISHING in one commit, and the request is answered:
  completing the object (on disk, write-once) and recording the original follow in the
  background, and are redone by whoever next touches the upload (a HEAD, the receipt, the
  sweeper) if a crash came in between. Only the receipt says when the device may wipe its copy.
* No database transaction is open while bytes stream (SQLite would hold its write lock).
  Requests for one upload are serialized with a lock that works across replicas.

One module per phase: ``creation``, ``receiving``, ``finishing``, ``concatenation``, ``sweeping``
(termination too) and ``receipts``; ``staging`` writes the bytes in the store's upload mode, and
``state`` holds what the phases share. This module is their context.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common import audit
from quancheng.common.db import Database, session_scope
from quancheng.common.locks import Locks
from quancheng.common.settings import IngestSettings
from quancheng.common.storage import ObjectStore
from quancheng.ingest.models import Upload
from quancheng.ingest.repository import OriginalRepository, UploadRepository
from quancheng.ingest.service.concatenation import assemble
from quancheng.ingest.service.finishing import finish_when_free
from quancheng.ingest.service.staging import MIB, Staging, staging_for


@dataclass(frozen=True)
class Transaction:
    """One unit of work on ingest's tables: it commits when its block ends, or not at all."""

    session: AsyncSession
    uploads: UploadRepository
    originals: OriginalRepository

    async def audit(
        self, upload: Upload, *, actor: str, action: str, detail: dict[str, Any]
    ) -> None:
        """The audit entry of a change to ``upload``, committed with the change."""
        await audit.append(
            self.session, actor=actor, action=action, target=f"upload:{upload.id}", detail=detail
        )


@dataclass(frozen=True)
class Uploads:
    """What the upload rules need from the running service."""

    db: Database
    store: ObjectStore
    locks: Locks
    settings: IngestSettings
    background: dict[str, asyncio.Task[None]] = field(default_factory=dict, compare=False)
    staging: Staging = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # The store's upload mode, chosen once for the service's life.
        object.__setattr__(self, "staging", staging_for(self.store, self.settings))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with session_scope(self.db) as session:
            yield Transaction(session, UploadRepository(session), OriginalRepository(session))

    def finish_soon(self, upload_id: str) -> None:
        """Store the upload's original in the background."""
        self._soon(f"finish-{upload_id}", finish_when_free(self, upload_id))

    def assemble_soon(self, upload_id: str) -> None:
        """Assemble a final upload from its partials in the background (tus concatenation)."""
        self._soon(f"assemble-{upload_id}", assemble(self, upload_id))

    def _soon(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        if name in self.background:
            work.close()  # already under way here
            return
        task = asyncio.create_task(work, name=name)
        self.background[name] = task
        task.add_done_callback(lambda _: self.background.pop(name, None))

    async def stop(self, grace_seconds: float = 30) -> None:
        """Let background work end; what is still running after the grace is cancelled (its
        state is committed step by step, and whoever next touches the upload goes on)."""
        deadline = time.monotonic() + grace_seconds
        while self.background:  # work may start more work (assembling, then finishing)
            tasks = set(self.background.values())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                return
            await asyncio.wait(tasks, timeout=remaining)

    @property
    def max_size(self) -> int:
        return self.settings.max_upload_gib * 1024 * MIB

    @property
    def expiry(self) -> timedelta:
        return timedelta(hours=self.settings.upload_expiry_hours)
