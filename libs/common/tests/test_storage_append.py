"""The local store's appended uploads: one growing staging file per upload that becomes the
write-once original without being copied (A-13), byte for byte, and that notices lost bytes."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import stat
from itertools import pairwise
from pathlib import Path

import pytest

from quancheng.common.storage import (
    AppendableStore,
    LocalObjectStore,
    NoSuchObjectError,
    NoSuchUploadError,
    ObjectExistsError,
    StagingLostError,
)

KEY = "sections/JC1/cases/1/clip.mp4"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root: Path) -> LocalObjectStore:
    return LocalObjectStore(root)


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def staging_data(root: Path, upload_id: str) -> Path:
    return root / "multipart" / upload_id / "data"


def append(store: LocalObjectStore, upload_id: str, offset: int, *chunks: bytes) -> int:
    """One request's bytes at ``offset``; the offset after them."""
    appender = store.open_append(KEY, upload_id, offset)
    try:
        appender.write(list(chunks))
    finally:
        appender.close()
    return offset + sum(len(chunk) for chunk in chunks)


async def read_all(
    store: LocalObjectStore, key: str, start: int = 0, end: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


def test_the_local_store_is_appendable(store: LocalObjectStore) -> None:
    assert isinstance(store, AppendableStore)


async def test_appends_at_successive_offsets_become_a_byte_exact_object(
    store: LocalObjectStore,
) -> None:
    data = random_bytes(3 * 1024 * 1024 + 12345, seed=1)
    upload_id = await store.create_multipart(KEY, retain_until=None)
    cuts = [0, 1, 700_000, 1_500_000, 1_500_001, len(data)]

    for start, end in pairwise(cuts):
        piece = data[start:end]
        # A request at each offset, written in several uneven batches (one chunk empty).
        appender = store.open_append(KEY, upload_id, start)
        try:
            half = len(piece) // 2
            appender.write([piece[:half], b""])
            appender.write([piece[half : half + 1000], piece[half + 1000 :]])
        finally:
            appender.close()
    # More chunks in one write than one writev takes.
    tail = random_bytes(3000, seed=2)
    append(store, upload_id, len(data), *[tail[i : i + 2] for i in range(0, len(tail), 2)])
    data += tail

    info = await store.complete_append(KEY, upload_id, len(data), sha256(data))

    assert (info.key, info.size, info.etag) == (KEY, len(data), sha256(data))
    head = await store.head(KEY)
    assert (head.size, head.etag) == (len(data), sha256(data))
    assert await read_all(store, KEY) == data
    assert await read_all(store, KEY, 1_499_990, 1_500_010) == data[1_499_990:1_500_011]


async def test_bytes_beyond_the_offset_are_dropped_when_reopened_there(
    store: LocalObjectStore, root: Path
) -> None:
    upload_id = await store.create_multipart(KEY, retain_until=None)
    acknowledged = append(store, upload_id, 0, b"acknowledged;")
    # A request that died before its bytes were acknowledged left them in the staging file.
    append(store, upload_id, acknowledged, b"never acknowledged, longer than what replaces it")

    end = append(store, upload_id, acknowledged, b"resent")

    assert staging_data(root, upload_id).read_bytes() == b"acknowledged;resent"
    info = await store.complete_append(KEY, upload_id, end, sha256(b"acknowledged;resent"))
    assert info.size == len(b"acknowledged;resent")
    assert await read_all(store, KEY) == b"acknowledged;resent"


async def test_reopening_at_zero_starts_the_file_over(store: LocalObjectStore) -> None:
    upload_id = await store.create_multipart(KEY, retain_until=None)
    append(store, upload_id, 0, b"a first attempt that was never acknowledged")

    end = append(store, upload_id, 0, b"again")

    await store.complete_append(KEY, upload_id, end, sha256(b"again"))
    assert await read_all(store, KEY) == b"again"


async def test_reopening_beyond_the_staged_bytes_is_staging_lost(
    store: LocalObjectStore, root: Path
) -> None:
    upload_id = await store.create_multipart(KEY, retain_until=None)
    with pytest.raises(StagingLostError):
        store.open_append(KEY, upload_id, 10)  # nothing was ever staged
    acknowledged = append(store, upload_id, 0, random_bytes(1000, seed=3))

    with pytest.raises(StagingLostError):
        store.open_append(KEY, upload_id, acknowledged + 1)
    # A power failure took the last bytes the operating system had not written to disk.
    os.truncate(staging_data(root, upload_id), 600)
    with pytest.raises(StagingLostError):
        store.open_append(KEY, upload_id, acknowledged)
    # ... or the whole file, whose creation had not reached the disk either.
    staging_data(root, upload_id).unlink()
    with pytest.raises(StagingLostError):
        store.open_append(KEY, upload_id, acknowledged)


@pytest.mark.parametrize("claimed", [999, 1001])
async def test_completing_with_another_size_is_staging_lost_and_stores_nothing(
    store: LocalObjectStore, claimed: int
) -> None:
    data = random_bytes(1000, seed=4)
    upload_id = await store.create_multipart(KEY, retain_until=None)
    append(store, upload_id, 0, data)

    with pytest.raises(StagingLostError):
        await store.complete_append(KEY, upload_id, claimed, sha256(data))

    with pytest.raises(NoSuchObjectError):
        await store.head(KEY)
    await store.abort_multipart(KEY, upload_id)  # the upload is still there to be dropped


async def test_completing_when_the_staged_file_is_gone_is_staging_lost(
    store: LocalObjectStore, root: Path
) -> None:
    upload_id = await store.create_multipart(KEY, retain_until=None)
    append(store, upload_id, 0, b"acknowledged, then lost in a power failure")
    staging_data(root, upload_id).unlink()

    with pytest.raises(StagingLostError):
        await store.complete_append(KEY, upload_id, 42, sha256(b"whatever"))

    with pytest.raises(NoSuchObjectError):
        await store.head(KEY)


@pytest.mark.req("A-13")
async def test_a_completed_append_is_a_read_only_original_that_cannot_be_completed_again(
    store: LocalObjectStore, root: Path
) -> None:
    data = random_bytes(5000, seed=5)
    upload_id = await store.create_multipart(KEY, retain_until=None)
    append(store, upload_id, 0, data)
    staged_inode = staging_data(root, upload_id).stat().st_ino

    await store.complete_append(KEY, upload_id, len(data), sha256(data))

    original = root / "objects" / KEY
    assert stat.S_IMODE(original.stat().st_mode) == 0o444
    assert original.stat().st_ino == staged_inode  # linked into place, not copied
    assert original.stat().st_nlink == 1  # and the staging name is gone
    assert not (root / "multipart" / upload_id).exists()
    with pytest.raises(NoSuchUploadError):
        await store.complete_append(KEY, upload_id, len(data), sha256(data))
    with pytest.raises(NoSuchUploadError):
        store.open_append(KEY, upload_id, len(data))
    with pytest.raises(ObjectExistsError):
        await store.put(KEY, b"tampered", retain_until=None)
    with pytest.raises(ObjectExistsError):
        await store.create_multipart(KEY, retain_until=None)
    assert await read_all(store, KEY) == data
    assert (await store.head(KEY)).etag == sha256(data)


@pytest.mark.req("A-13")
async def test_complete_append_refuses_a_key_written_meanwhile(store: LocalObjectStore) -> None:
    upload_id = await store.create_multipart(KEY, retain_until=None)
    append(store, upload_id, 0, b"from the upload")
    first = await store.put(KEY, b"written first", retain_until=None)

    with pytest.raises(ObjectExistsError):
        await store.complete_append(KEY, upload_id, 15, sha256(b"from the upload"))

    assert await read_all(store, KEY) == b"written first"
    assert await store.head(KEY) == first


async def test_complete_append_finishes_a_call_that_died_after_linking(
    store: LocalObjectStore, root: Path
) -> None:
    data = random_bytes(4000, seed=6)
    upload_id = await store.create_multipart(KEY, retain_until=None)
    append(store, upload_id, 0, data)
    # What an earlier complete_append did before it died: read-only, the key's directories,
    # then the link.
    staged = staging_data(root, upload_id)
    staged.chmod(0o444)
    (root / "objects" / KEY).parent.mkdir(parents=True)
    (root / "meta" / KEY).parent.mkdir(parents=True)
    os.link(staged, root / "objects" / KEY)
    with pytest.raises(NoSuchObjectError):  # no sidecar yet: not an object
        await store.head(KEY)

    info = await store.complete_append(KEY, upload_id, len(data), sha256(data))

    assert (info.size, info.etag) == (len(data), sha256(data))
    assert await store.head(KEY) == info
    assert await read_all(store, KEY) == data
    assert not (root / "multipart" / upload_id).exists()


async def test_complete_append_finishes_a_call_that_died_before_removing_staging(
    store: LocalObjectStore, root: Path, tmp_path: Path
) -> None:
    data = random_bytes(4000, seed=7)
    upload_id = await store.create_multipart(KEY, retain_until=None)
    append(store, upload_id, 0, data)
    saved = tmp_path / "saved"
    shutil.copytree(root / "multipart" / upload_id, saved, copy_function=os.link)
    first = await store.complete_append(KEY, upload_id, len(data), sha256(data))
    # Put the staging directory back, as if the call had died before removing it.
    shutil.copytree(saved, root / "multipart" / upload_id, copy_function=os.link)

    again = await store.complete_append(KEY, upload_id, len(data), sha256(data))

    assert again == first  # the original as recorded, not described anew
    assert await read_all(store, KEY) == data
    assert not (root / "multipart" / upload_id).exists()
    assert json.loads((root / "meta" / f"{KEY}.json").read_bytes())["size"] == len(data)


@pytest.mark.parametrize("opened", [False, True], ids=["never-opened", "opened-empty"])
async def test_an_empty_upload_becomes_an_empty_read_only_object(
    store: LocalObjectStore, root: Path, opened: bool
) -> None:
    upload_id = await store.create_multipart(KEY, retain_until=None)
    if opened:
        append(store, upload_id, 0)

    info = await store.complete_append(KEY, upload_id, 0, sha256(b""))

    assert (info.size, info.etag) == (0, sha256(b""))
    assert (await store.head(KEY)).size == 0
    assert await read_all(store, KEY) == b""
    assert stat.S_IMODE((root / "objects" / KEY).stat().st_mode) == 0o444
    assert not (root / "multipart" / upload_id).exists()
