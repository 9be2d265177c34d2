"""How an upload's bytes reach the object store while they arrive, in the store's upload mode:
as multipart parts (S3), or appended to one growing file (the local store). The mode is chosen
once, when ingest starts (``staging_for``); the rest of ingest sees one ``Staging`` and one
``Writer`` whatever the mode.

The whole file's SHA-256 (and SM3) runs alongside the writing, its state kept in the upload's row,
so that no file is ever read back.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from anyio import to_thread

from quancheng.common.hashing import ResumableSha256, resumable_sm3
from quancheng.common.settings import IngestSettings
from quancheng.common.storage import (
    Appender,
    AppendUploads,
    MultipartUploads,
    NoSuchUploadError,
    ObjectExistsError,
    ObjectInfo,
    ObjectStore,
    PartInfo,
    VersionedDeletion,
)
from quancheng.ingest.models import Upload

MIB = 1024 * 1024


class Hashes:
    """The whole file's SHA-256, and its SM3 if the upload began with SM3 on, resumed from the
    upload's row. Each runs on a thread of its own (both release the GIL)."""

    def __init__(self, upload: Upload) -> None:
        self.sha256 = ResumableSha256(upload.sha256_state)
        self.sm3 = None if upload.sm3_state is None else resumable_sm3(upload.sm3_state)

    async def update(self, chunks: list[bytes]) -> None:
        updates: list[Callable[[bytes], None]] = [self.sha256.update]
        if self.sm3 is not None:
            updates.append(self.sm3.update)
        await asyncio.gather(*(to_thread.run_sync(_each, update, chunks) for update in updates))

    def save(self, upload: Upload) -> None:
        upload.sha256_state = self.sha256.state()
        if self.sm3 is not None:
            upload.sm3_state = self.sm3.state()


def _each(update: Callable[[bytes], None], chunks: list[bytes]) -> None:
    for chunk in chunks:
        update(chunk)


class Writer(Protocol):
    """Takes one request's bytes (or one partial's, when a final upload is assembled)."""

    @property
    def received(self) -> int:
        """Bytes fed so far."""
        ...

    @property
    def hashes(self) -> Hashes: ...

    async def feed(self, chunk: bytes) -> None: ...

    async def settle(self, *, last: bool) -> None:
        """Store what was fed (all of it if it ends the upload); failures are raised here."""
        ...

    async def abandon(self) -> None:
        """Stop what is in flight: the request's bytes are not kept."""
        ...

    def record(self, upload: Upload) -> None:
        """Write into the row what is now stored: parts, tail and hash state."""
        ...


class Staging(ABC):
    """An upload's storage from its creation to its object, in the store's upload mode."""

    def __init__(self, store: ObjectStore, deletion: VersionedDeletion) -> None:
        self._objects = store
        self._deletion = deletion

    @abstractmethod
    async def begin(self, key: str, *, retain_until: datetime | None) -> str:
        """Start the store's upload of ``key``; its id."""

    @abstractmethod
    def writer(self, upload: Upload) -> Writer: ...

    async def complete(self, upload: Upload, length: int, sha256: str) -> ObjectInfo:
        """Complete the upload in the store, or find it completed by a request that died after."""
        try:
            return await self._complete(upload, length, sha256)
        except (NoSuchUploadError, ObjectExistsError):
            return await self._objects.head(upload.object_key)

    async def abort(self, upload: Upload) -> None:
        """Drop the store's upload, if it has one still (its bytes go)."""
        if upload.multipart_id is None:
            return
        with contextlib.suppress(NoSuchUploadError):  # aborted or completed already
            await self._drop(upload.object_key, upload.multipart_id)
        upload.multipart_id = None

    async def discard(self, key: str) -> None:
        """Delete a served partial upload's object, the version that is there (its short
        retention has passed by now). NoSuchObjectError if it is gone already."""
        info = await self._deletion.head(key)
        await self._deletion.delete_version(key, info.version)

    @abstractmethod
    async def _complete(self, upload: Upload, length: int, sha256: str) -> ObjectInfo: ...

    @abstractmethod
    async def _drop(self, key: str, upload_id: str) -> None: ...


def staging_for(store: ObjectStore, settings: IngestSettings) -> Staging:
    """The staging of the store's upload mode: appending where the store can (no copy at the
    end), else multipart."""
    if not isinstance(store, VersionedDeletion):
        raise TypeError(f"{type(store).__name__} can't delete exact versions (served partials)")
    if isinstance(store, AppendUploads):
        return _AppendStaging(store, store)
    if isinstance(store, MultipartUploads):
        return _MultipartStaging(store, store, settings)
    raise TypeError(f"{type(store).__name__} has no upload mode")


class _MultipartStaging(Staging):
    def __init__(
        self, store: MultipartUploads, deletion: VersionedDeletion, settings: IngestSettings
    ) -> None:
        super().__init__(store, deletion)
        self._store = store
        self._min = settings.min_part_mib * MIB
        self._max = max(settings.max_part_mib * MIB, self._min)

    async def begin(self, key: str, *, retain_until: datetime | None) -> str:
        return await self._store.create_multipart(key, retain_until=retain_until)

    def writer(self, upload: Upload) -> Writer:
        return _PartWriter(self._store, upload, self._min, self._max)

    async def _complete(self, upload: Upload, length: int, sha256: str) -> ObjectInfo:
        parts = [PartInfo(p["n"], p["etag"], p["size"]) for p in upload.parts]
        if not parts:
            # An empty file: no multipart upload can hold it.
            await self.abort(upload)
            return await self._store.put(upload.object_key, b"", retain_until=None)
        return await self._store.complete_multipart(upload.object_key, _upload_id(upload), parts)

    async def _drop(self, key: str, upload_id: str) -> None:
        await self._store.abort_multipart(key, upload_id)


class _AppendStaging(Staging):
    def __init__(self, store: AppendUploads, deletion: VersionedDeletion) -> None:
        super().__init__(store, deletion)
        self._store = store

    async def begin(self, key: str, *, retain_until: datetime | None) -> str:
        return await self._store.begin_append(key, retain_until=retain_until)

    def writer(self, upload: Upload) -> Writer:
        return _AppendWriter(self._store, upload)

    async def _complete(self, upload: Upload, length: int, sha256: str) -> ObjectInfo:
        return await self._store.complete_append(
            upload.object_key, _upload_id(upload), length, sha256
        )

    async def _drop(self, key: str, upload_id: str) -> None:
        await self._store.abort_append(key, upload_id)


def _upload_id(upload: Upload) -> str:
    if upload.multipart_id is None:
        raise NoSuchUploadError(upload.id)
    return upload.multipart_id


class _PartWriter:
    """Multipart: turns a request's bytes into parts; what is too short for a part stays as the
    tail (in the row, never in a process).

    A part is hashed and stored in the background while the next bytes arrive (one part in
    flight at most, so memory stays at about two parts). The running SHA-256 covers exactly the
    bytes already in parts; the tail is hashed when it becomes part of one.
    """

    def __init__(
        self, store: MultipartUploads, upload: Upload, min_part: int, max_part: int
    ) -> None:
        self._store = store
        self._upload = upload
        self._min = min_part
        self._max = max_part
        self._buffer = bytearray(upload.tail)
        self._parts: list[dict[str, Any]] = list(upload.parts)
        self.hashes = Hashes(upload)
        self.received = 0
        self._next_part = len(self._parts) + 1
        self._in_flight: asyncio.Task[None] | None = None

    async def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        self.received += len(chunk)
        while len(self._buffer) >= self._max:
            await self._part(self._max)

    async def settle(self, *, last: bool) -> None:
        """All of the bytes if they end the upload; else every full part, the rest waiting as
        the tail."""
        if self._buffer and (last or len(self._buffer) >= self._min):
            await self._part(len(self._buffer))
        await self._drain()

    async def abandon(self) -> None:
        task, self._in_flight = self._in_flight, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def record(self, upload: Upload) -> None:
        upload.parts = self._parts
        upload.tail = bytes(self._buffer)
        self.hashes.save(upload)

    async def _drain(self) -> None:
        """Wait for the part in flight (its failure is raised here)."""
        task, self._in_flight = self._in_flight, None
        if task is not None:
            await task

    async def _part(self, size: int) -> None:
        with memoryview(self._buffer) as view:
            data = bytes(view[:size])
        del self._buffer[:size]
        multipart_id = _upload_id(self._upload)
        await self._drain()
        number, self._next_part = self._next_part, self._next_part + 1
        self._in_flight = asyncio.create_task(self._store_part(multipart_id, number, data))

    async def _store_part(self, multipart_id: str, number: int, data: bytes) -> None:
        # Hashing and storing run on threads of their own at once.
        hashing = asyncio.create_task(self.hashes.update([data]))
        try:
            info = await self._store.upload_part(
                self._upload.object_key, multipart_id, number, data
            )
        finally:
            await hashing
        self._parts.append({"n": info.part_number, "etag": info.etag, "size": info.size})


class _AppendWriter:
    """Appending: a request's bytes go to the file as they arrive, in batches; each batch is
    hashed and written on two worker threads at once while the event loop receives the next
    (one batch in flight, so memory stays at two batches). Nothing ever waits as a tail."""

    BATCH = 2 * MIB

    def __init__(self, store: AppendUploads, upload: Upload) -> None:
        self._store = store
        self._upload = upload
        self.hashes = Hashes(upload)
        self.received = 0
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._appender: Appender | None = None
        self._in_flight: asyncio.Task[None] | None = None

    async def feed(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._batch_size += len(chunk)
        self.received += len(chunk)
        if self._batch_size >= self.BATCH:
            await self._send()

    async def settle(self, *, last: bool) -> None:
        if self._batch:
            await self._send()
        await self._drain()
        self._close()

    async def abandon(self) -> None:
        """Let the batch in flight end (a thread can't be stopped); the bytes are not counted,
        and the next request writes over them."""
        with contextlib.suppress(Exception):
            await self._drain()
        self._close()

    def record(self, upload: Upload) -> None:
        upload.parts = []
        upload.tail = b""
        self.hashes.save(upload)

    async def _drain(self) -> None:
        task, self._in_flight = self._in_flight, None
        if task is not None:
            await task

    async def _send(self) -> None:
        batch, self._batch, self._batch_size = self._batch, [], 0
        await self._drain()
        self._in_flight = asyncio.create_task(self._hash_and_write(batch))

    async def _hash_and_write(self, batch: list[bytes]) -> None:
        if self._appender is None:
            upload = self._upload
            self._appender = await to_thread.run_sync(
                self._store.open_append, upload.object_key, _upload_id(upload), upload.offset
            )
        appender = self._appender
        # Hashing and writing release the GIL, so they run side by side.
        hashing = asyncio.create_task(self.hashes.update(batch))
        try:
            await to_thread.run_sync(appender.write, batch)
        finally:
            await hashing

    def _close(self) -> None:
        appender, self._appender = self._appender, None
        if appender is not None:
            appender.close()
