"""The embedded object store: write-once objects in a local directory.

Layout under ``root``::

    objects/<key>                    the bytes, read-only (0o444)
    meta/<key>.json                  size, etag, retain_until, legal_hold, created_at, version
    multipart/<upload_id>/           manifest.json (key, retain_until) and parts/00001 …,
                                     or data: the one growing file of an appended upload
    tmp/                             files being written, moved or linked into place when complete
    lock                             held while a sidecar is read, checked and rewritten

An object is visible only when both its file and its sidecar exist.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any, BinaryIO

from anyio import to_thread

from quancheng.common.storage.base import (
    AppendUploads,
    InvalidPartError,
    InvalidRangeError,
    LegalHold,
    MultipartUploads,
    NoSuchObjectError,
    NoSuchUploadError,
    ObjectExistsError,
    ObjectInfo,
    ObjectLockedError,
    ObjectStoreError,
    PartInfo,
    RetentionLock,
    StagingLostError,
    VersionedDeletion,
    check_aware,
    check_key,
    check_part_number,
)

CHUNK_SIZE = 1024 * 1024
_IOV_MAX = 1024  # buffers per writev (Linux's limit)
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


class LocalObjectStore(
    MultipartUploads, AppendUploads, RetentionLock, LegalHold, VersionedDeletion
):
    """The ``ObjectStore`` contract over a local directory, with both upload modes and every
    capability; write-once is enforced here."""

    def __init__(
        self,
        root: Path,
        *,
        default_retention: timedelta | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._root = root
        # Like an Object Lock bucket's default retention: applied when a write names none.
        self._default_retention = default_retention
        self._clock: Callable[[], datetime] = clock or partial(datetime.now, UTC)
        self._objects = root / "objects"
        self._meta = root / "meta"
        self._uploads = root / "multipart"
        self._tmp = root / "tmp"

    async def create_multipart(self, key: str, *, retain_until: datetime | None) -> str:
        check_key(key)
        check_aware(retain_until)
        return await to_thread.run_sync(self._begin, key, self._retain(retain_until))

    async def upload_part(
        self, key: str, upload_id: str, part_number: int, data: bytes
    ) -> PartInfo:
        check_key(key)
        check_part_number(part_number)
        return await to_thread.run_sync(self._upload_part, key, upload_id, part_number, data)

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        check_key(key)
        return await to_thread.run_sync(self._list_parts, key, upload_id)

    async def complete_multipart(
        self, key: str, upload_id: str, parts: list[PartInfo]
    ) -> ObjectInfo:
        check_key(key)
        return await to_thread.run_sync(self._complete_multipart, key, upload_id, parts)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        check_key(key)
        await to_thread.run_sync(self._abort, key, upload_id)

    async def begin_append(self, key: str, *, retain_until: datetime | None) -> str:
        check_key(key)
        check_aware(retain_until)
        return await to_thread.run_sync(self._begin, key, self._retain(retain_until))

    def open_append(self, key: str, upload_id: str, offset: int) -> _FileAppender:
        check_key(key)
        staging, _ = self._upload(key, upload_id)
        return _FileAppender(staging / "data", offset)

    async def complete_append(self, key: str, upload_id: str, size: int, etag: str) -> ObjectInfo:
        check_key(key)
        return await to_thread.run_sync(self._complete_append, key, upload_id, size, etag)

    async def abort_append(self, key: str, upload_id: str) -> None:
        check_key(key)
        await to_thread.run_sync(self._abort, key, upload_id)

    async def put(self, key: str, data: bytes, *, retain_until: datetime | None) -> ObjectInfo:
        check_key(key)
        check_aware(retain_until)
        return await to_thread.run_sync(self._put, key, data, self._retain(retain_until))

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        check_key(key)
        info = await to_thread.run_sync(self._head, key)
        # Reading a 0-byte object from 0 is valid and yields nothing.
        if start < 0 or (end is not None and end < start) or (start > 0 and start >= info.size):
            raise InvalidRangeError(
                f"range {start}-{'' if end is None else end} is not satisfiable "
                f"for {key!r} of {info.size} bytes"
            )
        last = info.size - 1 if end is None else min(end, info.size - 1)
        offset = start
        while offset <= last:
            chunk = await to_thread.run_sync(
                self._read_chunk, key, offset, min(CHUNK_SIZE, last - offset + 1)
            )
            yield chunk
            offset += len(chunk)

    async def head(self, key: str) -> ObjectInfo:
        check_key(key)
        return await to_thread.run_sync(self._head, key)

    async def set_legal_hold(self, key: str, on: bool) -> None:
        check_key(key)
        await to_thread.run_sync(self._set_legal_hold, key, on)

    async def extend_retention(self, key: str, retain_until: datetime) -> None:
        check_key(key)
        check_aware(retain_until)
        await to_thread.run_sync(self._extend_retention, key, retain_until)

    async def delete_version(self, key: str, version: str) -> None:
        check_key(key)
        await to_thread.run_sync(self._delete_version, key, version)

    async def ping(self) -> bool:
        return await to_thread.run_sync(self._ping)

    def close(self) -> None:
        return None  # holds no connections

    def _retain(self, retain_until: datetime | None) -> datetime | None:
        if retain_until is None and self._default_retention is not None:
            return self._clock() + self._default_retention
        return retain_until

    # Blocking halves, run in worker threads.

    def _put(self, key: str, data: bytes, retain_until: datetime | None) -> ObjectInfo:
        def write(out: BinaryIO) -> str:
            out.write(data)
            return _md5_hex(data)

        return self._publish(key, retain_until, write)

    def _begin(self, key: str, retain_until: datetime | None) -> str:
        if (self._objects / key).exists():
            raise ObjectExistsError(f"{key!r} is already written")
        upload_id = uuid.uuid4().hex
        staging = self._uploads / upload_id
        _mkdirs(staging / "parts")
        manifest = {"key": key, "retain_until": _format_time(retain_until)}
        self._replace_atomically(staging / "manifest.json", json.dumps(manifest).encode())
        return upload_id

    def _upload_part(self, key: str, upload_id: str, part_number: int, data: bytes) -> PartInfo:
        staging, _ = self._upload(key, upload_id)
        etag = _md5_hex(data)
        # The etag is in the part's name, so completing never reads a part to check it; a part
        # sent again replaces the earlier one (the new name lands before the old goes).
        earlier = list((staging / "parts").glob(f"{part_number:05d}.*"))
        try:
            self._replace_atomically(_part_path(staging, part_number, etag), data)
        except FileNotFoundError:
            raise NoSuchUploadError(f"upload {upload_id} was aborted or completed") from None
        for path in earlier:
            if path.name != _part_path(staging, part_number, etag).name:
                path.unlink(missing_ok=True)
        return PartInfo(part_number=part_number, etag=etag, size=len(data))

    def _list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        staging, _ = self._upload(key, upload_id)
        latest: dict[int, Path] = {}
        for path in (staging / "parts").iterdir():
            number = int(path.name.split(".")[0])
            if number not in latest or path.stat().st_mtime_ns >= latest[number].stat().st_mtime_ns:
                latest[number] = path
        return [
            PartInfo(part_number=n, etag=p.name.split(".")[1], size=p.stat().st_size)
            for n, p in sorted(latest.items())
        ]

    def _complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> ObjectInfo:
        staging, retain_until = self._upload(key, upload_id)
        if not parts:
            raise InvalidPartError("a multipart upload needs at least one part")
        if any(a.part_number >= b.part_number for a, b in pairwise(parts)):
            raise InvalidPartError("parts must be listed in ascending part_number order")
        files = [_part_path(staging, part.part_number, part.etag) for part in parts]
        missing = [p.part_number for p, f in zip(parts, files, strict=True) if not f.is_file()]
        if missing:
            raise InvalidPartError(f"upload {upload_id} has no part(s) {missing} with that etag")

        def assemble(out: BinaryIO) -> str:
            for path in files:
                with path.open("rb") as part:
                    _copy_file(part, out)
            digests = b"".join(bytes.fromhex(part.etag) for part in parts)
            return f"{_md5_hex(digests)}-{len(parts)}"

        info = self._publish(key, retain_until, assemble)
        shutil.rmtree(staging)
        return info

    def _complete_append(self, key: str, upload_id: str, size: int, etag: str) -> ObjectInfo:
        staging, retain_until = self._upload(key, upload_id)
        data = staging / "data"
        if size == 0:
            data.touch()
        if _same_file(self._objects / key, data):
            # Linked by an earlier call that died before it was done: finish its work.
            if not self._meta_path(key).exists():
                self._write_meta(self._describe(key, size, etag, retain_until))
            info = self._head(key)
        else:
            try:
                f = data.open("rb+")
            except FileNotFoundError:
                raise StagingLostError(f"upload {upload_id} has no staged bytes") from None
            with f:
                staged = os.fstat(f.fileno()).st_size
                if staged != size:
                    raise StagingLostError(f"upload {upload_id} has {staged} bytes, not {size}")
                os.fchmod(f.fileno(), 0o444)
                os.fsync(f.fileno())
            info = self._claim(key, data, self._describe(key, size, etag, retain_until))
        shutil.rmtree(staging)
        return info

    def _abort(self, key: str, upload_id: str) -> None:
        staging, _ = self._upload(key, upload_id)
        shutil.rmtree(staging)

    def _head(self, key: str) -> ObjectInfo:
        if not (self._objects / key).is_file():
            raise NoSuchObjectError(key)
        try:
            doc = json.loads(self._meta_path(key).read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            raise NoSuchObjectError(key) from None
        return ObjectInfo(
            key=key,
            size=doc["size"],
            etag=doc["etag"],
            retain_until=_parse_time(doc["retain_until"]),
            legal_hold=doc["legal_hold"],
            created_at=datetime.fromisoformat(doc["created_at"]),
            version=doc["version"],
        )

    def _read_chunk(self, key: str, offset: int, length: int) -> bytes:
        try:
            with (self._objects / key).open("rb") as f:
                f.seek(offset)
                chunk = f.read(length)
        except FileNotFoundError:
            raise NoSuchObjectError(key) from None
        if len(chunk) != length:
            raise ObjectStoreError(f"{key!r} is shorter than its recorded size")
        return chunk

    def _set_legal_hold(self, key: str, on: bool) -> None:
        with self._locked():
            info = self._head(key)
            self._write_meta(replace(info, legal_hold=on))

    def _extend_retention(self, key: str, retain_until: datetime) -> None:
        with self._locked():
            info = self._head(key)
            if info.retain_until is not None and retain_until < info.retain_until:
                raise ObjectLockedError(
                    f"{key!r} is retained until {info.retain_until.isoformat()}; "
                    f"retention can't be shortened to {retain_until.isoformat()}"
                )
            self._write_meta(replace(info, retain_until=retain_until))

    def _delete_version(self, key: str, version: str) -> None:
        with self._locked():
            info = self._head(key)
            if info.version != version:
                raise NoSuchObjectError(f"{key!r} has no version {version!r}")
            if info.legal_hold:
                raise ObjectLockedError(f"{key!r} is under legal hold")
            if info.retain_until is not None and info.retain_until > self._clock():
                raise ObjectLockedError(
                    f"{key!r} is retained until {info.retain_until.isoformat()}"
                )
            # Bytes first: a crash in between leaves an invisible sidecar, replaced by the next put.
            path = self._objects / key
            path.unlink()
            _fsync_dir(path.parent)
            meta = self._meta_path(key)
            meta.unlink()
            _fsync_dir(meta.parent)

    def _ping(self) -> bool:
        # Creating a missing root is what the first write would do anyway.
        try:
            self._root.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return os.access(self._root, os.W_OK | os.X_OK)

    # Helpers.

    def _publish(
        self, key: str, retain_until: datetime | None, write: Callable[[BinaryIO], str]
    ) -> ObjectInfo:
        """Write the object through ``write`` (which returns its etag) and claim ``key`` once."""
        if (self._objects / key).exists():
            raise ObjectExistsError(f"{key!r} is already written")
        _mkdirs(self._tmp)
        tmp = self._tmp / uuid.uuid4().hex
        try:
            with tmp.open("xb") as out:
                etag = write(out)
                size = out.tell()
                out.flush()
                # Same inode as the final link, so the object is never writable once visible.
                os.fchmod(out.fileno(), 0o444)
                os.fsync(out.fileno())
            return self._claim(key, tmp, self._describe(key, size, etag, retain_until))
        finally:
            tmp.unlink(missing_ok=True)

    def _describe(
        self, key: str, size: int, etag: str, retain_until: datetime | None
    ) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=size,
            etag=etag,
            retain_until=retain_until,
            legal_hold=False,
            created_at=self._clock(),
            # Random, so that a key written again after a deletion is another version.
            version=uuid.uuid4().hex,
        )

    def _claim(self, key: str, written: Path, info: ObjectInfo) -> ObjectInfo:
        """Link the finished, read-only, synced file ``written`` at ``key``, once."""
        target = self._objects / key
        try:
            _mkdirs(target.parent)
            _mkdirs(self._meta_path(key).parent)
        except (FileExistsError, NotADirectoryError):
            raise ObjectExistsError(f"{key!r} collides with a key already written") from None
        try:
            os.link(written, target)
        except FileExistsError:
            raise ObjectExistsError(f"{key!r} is already written") from None
        _fsync_dir(target.parent)
        # The link is the write-once claim, so only its winner writes the sidecar, after it.
        self._write_meta(info)
        return info

    def _write_meta(self, info: ObjectInfo) -> None:
        doc = {
            "size": info.size,
            "etag": info.etag,
            "retain_until": _format_time(info.retain_until),
            "legal_hold": info.legal_hold,
            "created_at": info.created_at.isoformat(),
            "version": info.version,
        }
        self._replace_atomically(self._meta_path(info.key), json.dumps(doc).encode())

    def _replace_atomically(self, path: Path, data: bytes) -> None:
        _mkdirs(self._tmp)
        tmp = self._tmp / uuid.uuid4().hex
        try:
            with tmp.open("xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    def _upload(self, key: str, upload_id: str) -> tuple[Path, datetime | None]:
        """The staging directory and retain-until of an upload of ``key``."""
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise NoSuchUploadError(f"no upload {upload_id!r}")
        staging = self._uploads / upload_id
        try:
            manifest: dict[str, Any] = json.loads((staging / "manifest.json").read_bytes())
        except FileNotFoundError:
            raise NoSuchUploadError(f"no upload {upload_id!r}") from None
        if manifest["key"] != key:
            raise NoSuchUploadError(f"upload {upload_id} is not an upload of {key!r}")
        return staging, _parse_time(manifest["retain_until"])

    def _meta_path(self, key: str) -> Path:
        return self._meta / f"{key}.json"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise sidecar read-modify-writes across threads and processes sharing ``root``."""
        self._root.mkdir(parents=True, exist_ok=True)
        with (self._root / "lock").open("ab") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            yield


class _FileAppender:
    """Writes an appended upload's bytes into its staging file. The caller's per-upload lock
    ensures a single writer; the operating system has the bytes when ``write`` returns (they
    survive the process, and ``complete_append`` puts them on disk before they count)."""

    def __init__(self, path: Path, offset: int) -> None:
        try:
            self._fd = os.open(path, os.O_WRONLY | (os.O_CREAT if offset == 0 else 0), 0o600)
        except FileNotFoundError:
            raise StagingLostError(f"{path.parent.name} has no staged bytes") from None
        staged = os.fstat(self._fd).st_size
        if staged < offset:
            os.close(self._fd)
            raise StagingLostError(f"{path.parent.name} has {staged} bytes staged, not {offset}")
        if staged > offset:
            os.ftruncate(self._fd, offset)  # from a request that died before it was committed
        os.lseek(self._fd, offset, os.SEEK_SET)

    def write(self, chunks: list[bytes]) -> None:
        views = [memoryview(chunk) for chunk in chunks]
        while views:
            done = os.writev(self._fd, views[:_IOV_MAX])
            while views and done >= len(views[0]):
                done -= len(views.pop(0))
            if views:
                views[0] = views[0][done:]

    def close(self) -> None:
        os.close(self._fd)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except FileNotFoundError:
        return False


def _format_time(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _part_path(staging: Path, part_number: int, etag: str) -> Path:
    return staging / "parts" / f"{part_number:05d}.{etag}"


def _copy_file(source: BinaryIO, target: BinaryIO) -> None:
    """Append ``source`` to ``target`` inside the kernel where it can (no copy through Python)."""
    target.flush()
    size = os.fstat(source.fileno()).st_size
    copied = 0
    try:
        while copied < size:
            done = os.copy_file_range(source.fileno(), target.fileno(), size - copied)
            if done == 0:
                break
            copied += done
    except OSError:
        pass  # e.g. across filesystems on an old kernel: copy the rest the ordinary way
    if copied < size:
        source.seek(copied)
        shutil.copyfileobj(source, target, CHUNK_SIZE)
    target.seek(0, os.SEEK_END)


def _md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _mkdirs(path: Path) -> None:
    """``mkdir -p`` that fsyncs every directory it adds an entry to."""
    if path.is_dir():
        return
    _mkdirs(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        if not path.is_dir():
            raise
        return
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
