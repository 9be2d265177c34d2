"""The tus 1.0.0 protocol at ``/files/``, spoken byte by byte through the gateway (embedded
platform), and what becomes of an upload: a write-once original, its event and its receipt."""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlmodel import select

from quancheng.common.auth import Role
from quancheng.common.db import Database, session_scope
from quancheng.common.events import OutboxMessage
from quancheng.common.settings import Settings
from quancheng.common.storage import LocalObjectStore
from quancheng.common.storage import local as local_store
from quancheng.common.testing.kit import (
    Embedded,
    TokenFactory,
    database_of,
    issued_device,
    seed_staff,
)
from quancheng.common.wiring import make_locks, make_object_store
from quancheng.ingest.models import Concat, Upload, UploadStatus
from quancheng.ingest.service.sweeping import sweep
from quancheng.ingest.service.uploads import Uploads

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}
MIB = 1024 * 1024


def metadata(**values: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in values.items()
    )


@dataclass
class Officer:
    client: httpx.AsyncClient
    headers: dict[str, str]
    device_id: str
    settings: Settings

    def meta(self, **overrides: str | None) -> str:
        values: dict[str, str | None] = {
            "filename": "现场检查.mp4",
            "device_id": self.device_id,
            "officer_id": "officer-7",
            "kind": "video",
            "captured_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        }
        values.update(overrides)
        return metadata(**{k: v for k, v in values.items() if v is not None})

    async def create(
        self, length: int | None, *, meta: str | None = None, **headers: str
    ) -> httpx.Response:
        sent = {**self.headers, **TUS, "Upload-Metadata": meta or self.meta(), **headers}
        if length is not None:
            sent["Upload-Length"] = str(length)
        return await self.client.post("/files/", headers=sent)

    async def new(self, length: int | None, **kwargs: Any) -> str:
        response = await self.create(length, **kwargs)
        assert response.status_code == 201, response.text
        location: str = response.headers["location"]
        assert location.startswith("/files/")
        return location

    async def patch(self, url: str, offset: int, data: bytes, **headers: str) -> httpx.Response:
        sent = {**self.headers, **TUS, **OCTETS, "Upload-Offset": str(offset), **headers}
        return await self.client.patch(url, content=data, headers=sent)

    async def head(self, url: str) -> httpx.Response:
        return await self.client.head(url, headers={**self.headers, **TUS})

    async def receipt(self, url: str) -> dict[str, Any]:
        upload_id = url.rsplit("/", 1)[1]
        response = await self.client.get(
            f"/api/v1/uploads/{upload_id}/receipt", headers=self.headers
        )
        assert response.status_code == 200, response.text
        receipt: dict[str, Any] = response.json()
        return receipt

    async def upload(self, data: bytes, chunk: int = 5 * MIB, **kwargs: Any) -> str:
        url = await self.new(len(data), **kwargs)
        for offset in range(0, len(data), chunk):
            response = await self.patch(url, offset, data[offset : offset + chunk])
            assert response.status_code == 204, response.text
        return url


@pytest.fixture
async def officer(embedded: Embedded, token: TokenFactory) -> Officer:
    office = embedded.auth(token("office-1", Role.OFFICE))
    headers = embedded.auth(token("officer-7", Role.OFFICER, section="JC1"))
    await seed_staff(embedded.client, office)
    device_id = await issued_device(embedded.client, office, headers, serial="BC-1")
    return Officer(embedded.client, headers, device_id, embedded.settings)


async def stored_bytes(settings: Settings, key: str) -> bytes:
    store = make_object_store(settings)
    try:
        return b"".join([chunk async for chunk in store.read(key)])
    finally:
        store.close()


def originals_stored(settings: Settings) -> int:
    return sum(1 for p in (settings.objects_root / "objects").rglob("*") if p.is_file())


async def ingest_rows(settings: Settings) -> tuple[list[Upload], list[OutboxMessage]]:
    async with database_of(settings, "ingest") as db, session_scope(db) as session:
        uploads = list((await session.exec(select(Upload))).all())
        outbox = list((await session.exec(select(OutboxMessage))).all())
    return uploads, outbox


async def test_options_describes_the_server_without_a_token(embedded: Embedded) -> None:
    response = await embedded.client.options("/files/")

    assert response.status_code == 204
    assert response.headers["tus-version"] == "1.0.0"
    assert set(response.headers["tus-extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "checksum",
        "expiration",
        "termination",
        "concatenation",
    }
    assert response.headers["tus-checksum-algorithm"] == "sha1,md5,sha256"
    assert int(response.headers["tus-max-size"]) > 10 * 1024**3


@pytest.mark.req("A-13")
@pytest.mark.req("E-11")
async def test_an_upload_in_chunks_becomes_a_byte_identical_original(officer: Officer) -> None:
    data = os.urandom(12 * MIB + 12345)

    url = await officer.upload(data)

    head = await officer.head(url)
    assert head.status_code == 200
    assert (head.headers["upload-offset"], head.headers["upload-length"]) == (
        str(len(data)),
        str(len(data)),
    )
    assert head.headers["cache-control"] == "no-store"
    receipt = await officer.receipt(url)
    assert receipt["safe_to_wipe"] is True
    assert receipt["sha256"] == hashlib.sha256(data).hexdigest()
    assert (receipt["size"], receipt["status"], receipt["status_label"]) == (
        len(data),
        "complete",
        "已保存",
    )
    uploads, outbox = await ingest_rows(officer.settings)
    assert await stored_bytes(officer.settings, uploads[0].object_key) == data
    events = [m for m in outbox if m.event_type == "recording.ingested"]
    assert len(events) == 1
    assert str(receipt["record_id"]) in events[0].payload


@pytest.mark.req("D-14b")
async def test_the_receipt_says_not_to_wipe_until_the_original_is_stored(
    officer: Officer,
) -> None:
    url = await officer.new(10)
    assert (await officer.patch(url, 0, b"12345")).status_code == 204

    receipt = await officer.receipt(url)

    assert (receipt["safe_to_wipe"], receipt["status"], receipt["offset"]) == (
        False,
        "receiving",
        5,
    )
    assert receipt["sha256"] is None


async def test_a_chinese_file_name_is_kept_exactly(officer: Officer) -> None:
    name = "2026年11月28日 危化品企业 现场检查（第2段）.mp4"
    url = await officer.upload(b"video bytes", meta=officer.meta(filename=name))

    head = await officer.head(url)
    assert (await officer.receipt(url))["filename"] == name
    pairs = dict(item.split(" ") for item in head.headers["upload-metadata"].split(","))
    assert base64.b64decode(pairs["filename"]).decode() == name


async def test_a_wrong_offset_is_a_conflict_naming_the_right_one(officer: Officer) -> None:
    url = await officer.new(100)
    assert (await officer.patch(url, 0, b"x" * 40)).status_code == 204

    response = await officer.patch(url, 20, b"y" * 10)

    assert response.status_code == 409
    assert response.json()["error"] == "offset_mismatch"
    assert response.headers["upload-offset"] == "40"


@pytest.mark.parametrize("algorithm", ["sha1", "md5", "sha256"])
async def test_a_corrupted_chunk_gets_460_and_is_discarded(
    officer: Officer, algorithm: str
) -> None:
    data = os.urandom(6 * MIB)
    url = await officer.new(len(data))
    good = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    corrupted = bytearray(data)
    corrupted[12345] ^= 0xFF

    refused = await officer.patch(
        url, 0, bytes(corrupted), **{"Upload-Checksum": f"{algorithm} {good}"}
    )

    assert refused.status_code == 460, refused.text
    assert refused.json()["error"] == "checksum_mismatch"
    assert (await officer.head(url)).headers["upload-offset"] == "0"
    accepted = await officer.patch(url, 0, data, **{"Upload-Checksum": f"{algorithm} {good}"})
    assert accepted.status_code == 204, accepted.text
    assert (await officer.receipt(url))["sha256"] == hashlib.sha256(data).hexdigest()


async def test_a_wrong_declared_sha256_rejects_the_upload_and_stores_no_original(
    officer: Officer,
) -> None:
    data = b"the real bytes"
    url = await officer.new(len(data), meta=officer.meta(sha256="0" * 64))

    response = await officer.patch(url, 0, data)

    assert response.status_code == 460, response.text
    assert response.json()["error"] == "sha256_mismatch"
    assert hashlib.sha256(data).hexdigest() in response.json()["message"]
    receipt = await officer.receipt(url)
    assert (receipt["status"], receipt["safe_to_wipe"], receipt["record_id"]) == (
        "rejected",
        False,
        None,
    )
    assert (await officer.head(url)).status_code == 410
    uploads, outbox = await ingest_rows(officer.settings)
    assert [m for m in outbox if m.event_type == "recording.ingested"] == []
    assert originals_stored(officer.settings) == 0
    assert uploads[0].multipart_id is None  # its parts are gone


async def test_a_right_declared_sha256_is_accepted(officer: Officer) -> None:
    data = b"declared and true"
    url = await officer.new(len(data), meta=officer.meta(sha256=hashlib.sha256(data).hexdigest()))

    assert (await officer.patch(url, 0, data)).status_code == 204
    assert (await officer.receipt(url))["safe_to_wipe"] is True


async def test_creation_with_upload_takes_the_first_bytes_in_the_post(officer: Officer) -> None:
    data = b"all in one request"
    response = await officer.client.post(
        "/files/",
        content=data,
        headers={
            **officer.headers,
            **TUS,
            **OCTETS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": officer.meta(),
        },
    )

    assert response.status_code == 201, response.text
    assert response.headers["upload-offset"] == str(len(data))
    assert (await officer.receipt(response.headers["location"]))["safe_to_wipe"] is True


async def test_a_deferred_length_is_given_with_a_later_patch(officer: Officer) -> None:
    url = await officer.new(None, **{"Upload-Defer-Length": "1"})
    head = await officer.head(url)
    assert head.headers["upload-defer-length"] == "1"
    assert "upload-length" not in head.headers

    assert (await officer.patch(url, 0, b"first ")).status_code == 204
    last = await officer.patch(url, 6, b"and last", **{"Upload-Length": "14"})

    assert last.status_code == 204, last.text
    receipt = await officer.receipt(url)
    assert receipt["sha256"] == hashlib.sha256(b"first and last").hexdigest()


async def test_an_empty_file_is_stored_at_creation(officer: Officer) -> None:
    url = await officer.new(0)

    receipt = await officer.receipt(url)

    assert (receipt["safe_to_wipe"], receipt["size"]) == (True, 0)
    assert receipt["sha256"] == hashlib.sha256(b"").hexdigest()


async def test_bytes_beyond_the_length_are_refused(officer: Officer) -> None:
    url = await officer.new(10)

    response = await officer.patch(url, 0, b"x" * 11)

    assert response.status_code == 413
    assert (await officer.head(url)).headers["upload-offset"] == "0"


@pytest.mark.req("D-18")
async def test_an_unfinished_upload_can_be_terminated_a_finished_one_never(
    officer: Officer,
) -> None:
    unfinished = await officer.new(100)
    await officer.patch(unfinished, 0, b"x" * 10)
    finished = await officer.upload(b"an original")

    ended = await officer.client.delete(unfinished, headers={**officer.headers, **TUS})
    refused = await officer.client.delete(finished, headers={**officer.headers, **TUS})

    assert ended.status_code == 204
    assert (await officer.head(unfinished)).status_code == 410
    assert refused.status_code == 403
    assert refused.json()["error"] == "original_is_permanent"
    assert (await officer.receipt(finished))["safe_to_wipe"] is True


async def test_an_abandoned_upload_expires_and_its_bytes_are_cleaned_up(
    officer: Officer,
) -> None:
    settings = officer.settings
    url = await officer.new(20 * MIB)
    response = await officer.patch(url, 0, os.urandom(6 * MIB))
    assert "upload-expires" in response.headers
    multipart = settings.objects_root / "multipart"
    assert list(multipart.iterdir())  # the first part waits there
    db = Database(settings.database_url("ingest"))
    db.connect()
    store = make_object_store(settings)
    # The sweep as any ingest replica runs it, once the upload's time has run out.
    replica = Uploads(
        db, store, make_locks(db, settings.data_dir / "locks" / "ingest"), settings.ingest
    )
    try:
        assert await sweep(replica) == 0  # not expired yet
        async with session_scope(db) as session:
            upload = (await session.exec(select(Upload))).one()
            upload.expires_at = datetime.now(UTC) - timedelta(seconds=1)
            session.add(upload)
        assert await sweep(replica) == 1
        async with session_scope(db) as session:
            upload = (await session.exec(select(Upload))).one()
    finally:
        store.close()
        await db.dispose()

    assert (upload.status, upload.multipart_id, upload.tail) == (UploadStatus.EXPIRED, None, b"")
    assert not list(multipart.iterdir())
    assert (await officer.head(url)).status_code == 410


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"kind": "hologram"}, "kind"),
        ({"captured_at": "yesterday"}, "captured_at"),
        ({"captured_at": "2026-11-28T09:00:00"}, "captured_at"),
        ({"device_id": "not-a-uuid"}, "device_id"),
        ({"filename": "../etc/passwd"}, "filename"),
        ({"colour": "red"}, "colour"),
        ({"sha256": "abc"}, "sha256"),
        ({"party_informed": "maybe"}, "party_informed"),
        ({"officer_id": None}, "officer_id"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
async def test_bad_metadata_is_refused_naming_the_key(
    officer: Officer, change: dict[str, str | None], key: str
) -> None:
    response = await officer.create(10, meta=officer.meta(**change))

    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["error"], body["key"]) == ("invalid_metadata", key)
    assert key in body["message"]
    assert body["message_zh"]


async def test_only_the_officer_holding_the_device_may_upload_from_it(
    officer: Officer, embedded: Embedded, token: TokenFactory
) -> None:
    other = embedded.auth(token("officer-8", Role.OFFICER, section="JC1"))
    response = await officer.client.post(
        "/files/",
        headers={**other, **TUS, "Upload-Length": "5", "Upload-Metadata": officer.meta()},
    )
    assert response.status_code == 403
    assert response.json()["error"] == "upload_not_permitted"

    url = await officer.new(5)
    foreign = await officer.client.head(url, headers={**other, **TUS})
    assert foreign.status_code == 404


async def test_the_same_content_from_the_same_device_is_one_record(officer: Officer) -> None:
    data = os.urandom(100_000)

    first = await officer.receipt(await officer.upload(data))
    second = await officer.receipt(await officer.upload(data))

    assert first["record_id"] == second["record_id"]
    assert second["safe_to_wipe"] is True
    assert originals_stored(officer.settings) == 1
    _, outbox = await ingest_rows(officer.settings)
    assert len([m for m in outbox if m.event_type == "recording.ingested"]) == 1


async def test_a_version_other_than_1_0_0_is_refused(officer: Officer) -> None:
    response = await officer.client.post(
        "/files/",
        headers={**officer.headers, "Tus-Resumable": "0.2.2", "Upload-Length": "1"},
    )

    assert response.status_code == 412
    assert response.headers["tus-version"] == "1.0.0"


@pytest.mark.req("E-4")
@pytest.mark.req("E-6")
async def test_a_clip_is_a_new_item_naming_its_source_and_the_original_is_untouched(
    officer: Officer,
) -> None:
    original = os.urandom(300_000)
    source = await officer.receipt(await officer.upload(original))
    clip = original[100_000:150_000]

    derived = await officer.receipt(
        await officer.upload(
            clip,
            meta=officer.meta(
                filename="片段.mp4",
                source_record_id=source["record_id"],
                source_range="00:01:30-00:03:00",
            ),
        )
    )

    assert derived["record_id"] != source["record_id"]
    assert derived["sha256"] == hashlib.sha256(clip).hexdigest()
    uploads, outbox = await ingest_rows(officer.settings)
    by_record = {str(u.record_id): u for u in uploads}
    assert await stored_bytes(officer.settings, by_record[source["record_id"]].object_key) == (
        original
    )
    events = [json.loads(m.payload) for m in outbox if m.event_type == "recording.ingested"]
    clip_event = next(e for e in events if e["record_id"] == derived["record_id"])
    assert (clip_event["source_record_id"], clip_event["source_range"]) == (
        source["record_id"],
        "00:01:30-00:03:00",
    )


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (
            {"source_record_id": "7f6c1a52-64b4-4e6b-9a39-8f0a1f1e0c11", "source_range": "0-1"},
            "source_record_id",
        ),
        ({"source_record_id": "7f6c1a52-64b4-4e6b-9a39-8f0a1f1e0c11"}, "source_range"),
        ({"source_range": "00:00-00:10"}, "source_record_id"),
    ],
    ids=["unknown-source", "no-range", "no-source"],
)
async def test_a_derived_item_must_name_a_stored_source_and_its_range(
    officer: Officer, change: dict[str, str], key: str
) -> None:
    response = await officer.create(10, meta=officer.meta(**change))

    assert response.status_code == 400, response.text
    assert (response.json()["error"], response.json()["key"]) == ("invalid_metadata", key)


async def ingested_event(officer: Officer, url: str) -> dict[str, Any]:
    record_id = (await officer.receipt(url))["record_id"]
    _, outbox = await ingest_rows(officer.settings)
    events = [json.loads(m.payload) for m in outbox if m.event_type == "recording.ingested"]
    event: dict[str, Any] = next(e for e in events if e["record_id"] == record_id)
    return event


@pytest.mark.req("A-11")
@pytest.mark.req("D-14a")
@pytest.mark.parametrize(
    ("hours_ago", "returned_hours_ago", "missed"),
    [(2, None, False), (30, None, True), (50, 3, False), (50, 25, True)],
    ids=["in-time", "late", "remote-work-in-time", "remote-work-late"],
)
async def test_the_24_hour_deadline_runs_from_the_work_or_the_return(
    officer: Officer, hours_ago: int, returned_hours_ago: int | None, missed: bool
) -> None:
    now = datetime.now(UTC)
    meta = officer.meta(
        captured_at=(now - timedelta(hours=hours_ago)).isoformat(),
        returned_at=(
            (now - timedelta(hours=returned_hours_ago)).isoformat()
            if returned_hours_ago is not None
            else None
        ),
    )

    event = await ingested_event(officer, await officer.upload(os.urandom(1000), meta=meta))

    assert event["deadline_missed"] is missed


@pytest.mark.req("A-8")
async def test_the_device_clock_drift_is_measured_at_upload(officer: Officer) -> None:
    ahead = datetime.now(UTC) + timedelta(seconds=95)
    meta = officer.meta(device_clock=ahead.isoformat(), party_informed="是")

    event = await ingested_event(officer, await officer.upload(b"clocked", meta=meta))

    assert 90 <= event["clock_drift_seconds"] <= 100
    assert event["party_informed"] is True
    assert (event["officer_id"], event["section"], event["kind"]) == ("officer-7", "JC1", "video")


async def test_bytes_lost_in_a_power_failure_end_the_upload_as_gone(officer: Officer) -> None:
    data = os.urandom(3 * MIB)
    url = await officer.new(len(data))
    assert (await officer.patch(url, 0, data[:MIB])).status_code == 204
    assert (await officer.patch(url, MIB, data[MIB : 2 * MIB])).status_code == 204
    # The embedded platform's local store grows one staging file per upload; a power failure
    # took bytes it had acknowledged but the operating system had not yet written to disk.
    uploads, _ = await ingest_rows(officer.settings)
    multipart_id = uploads[0].multipart_id
    assert multipart_id is not None
    staged = officer.settings.objects_root / "multipart" / multipart_id / "data"
    assert staged.stat().st_size == 2 * MIB
    os.truncate(staged, MIB + 1000)

    response = await officer.patch(url, 2 * MIB, data[2 * MIB :])

    assert response.status_code == 410, response.text
    assert response.json()["error"] == "upload_rejected"
    assert "the server lost this upload's latest bytes" in response.json()["message"]
    assert (await officer.head(url)).status_code == 410
    receipt = await officer.receipt(url)
    assert (receipt["status"], receipt["safe_to_wipe"], receipt["record_id"]) == (
        "rejected",
        False,
        None,
    )
    assert originals_stored(officer.settings) == 0
    uploads, outbox = await ingest_rows(officer.settings)
    assert [m for m in outbox if m.event_type == "recording.ingested"] == []
    assert uploads[0].multipart_id is None
    assert not (officer.settings.objects_root / "multipart" / multipart_id).exists()


@pytest.mark.req("D-14b")
async def test_the_last_patch_is_answered_first_and_a_lost_finish_is_done_by_the_receipt(
    officer: Officer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the process died right after answering the last PATCH: nothing finishes it.
    monkeypatch.setattr(Uploads, "finish_soon", lambda self, upload_id: None)
    data = os.urandom(MIB + 5)

    url = await officer.upload(data, chunk=MIB)

    uploads, outbox = await ingest_rows(officer.settings)
    assert [u.status for u in uploads] == [UploadStatus.FINISHING]
    assert not [m for m in outbox if m.event_type == "recording.ingested"]
    assert originals_stored(officer.settings) == 0
    receipt = await officer.receipt(url)
    assert (receipt["status"], receipt["safe_to_wipe"]) == ("complete", True)
    assert receipt["sha256"] == hashlib.sha256(data).hexdigest()
    uploads, outbox = await ingest_rows(officer.settings)
    assert len([m for m in outbox if m.event_type == "recording.ingested"]) == 1
    assert await stored_bytes(officer.settings, uploads[0].object_key) == data


@pytest.mark.req("D-14b")
async def test_a_receipt_waits_for_the_original_and_says_finishing_when_it_waited_enough(
    officer: Officer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Uploads, "finish_soon", lambda self, upload_id: None)
    url = await officer.upload(b"a scene, recorded")
    upload_id = url.rsplit("/", 1)[1]
    db = Database(officer.settings.database_url("ingest"))
    db.connect()
    locks = make_locks(db, officer.settings.data_dir / "locks" / "ingest")
    try:
        # Another request (another replica) is storing the original and takes its time.
        async with locks.hold(f"upload:{upload_id}"):
            officer.settings.ingest.receipt_wait_seconds = 0
            waited_enough = await officer.receipt(url)
        officer.settings.ingest.receipt_wait_seconds = 30
        done = await officer.receipt(url)
    finally:
        await db.dispose()

    assert (waited_enough["status"], waited_enough["safe_to_wipe"]) == ("finishing", False)
    assert waited_enough["record_id"] is None
    assert (done["status"], done["safe_to_wipe"]) == ("complete", True)


def scan_file(fmt: str, dpi: tuple[int, int] | None, size: tuple[int, int] = (200, 100)) -> bytes:
    """A scan as a scanner would write it; noise pixels keep a compressed TIFF large, so that
    its directory (with the resolution) lands at the end, beyond the first MiB."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    options: dict[str, Any] = {"dpi": dpi} if dpi else {}
    if fmt == "TIFF":
        options["compression"] = "tiff_lzw"
    image.save(out, fmt, **options)
    return out.getvalue()


@pytest.mark.req("E-5")
@pytest.mark.parametrize(
    ("fmt", "dpi", "pixels", "ppi", "flagged"),
    [
        ("JPEG", (300, 300), (200, 100), 300, False),
        ("PNG", (150, 150), (200, 100), 150, True),
        ("TIFF", (200, 120), (1000, 1000), 120, True),  # > 1 MiB, its directory at the end
        ("JPEG", None, (200, 100), None, True),
    ],
)
async def test_a_scan_s_resolution_is_read_from_its_header_and_a_low_one_is_flagged(
    officer: Officer,
    fmt: str,
    dpi: tuple[int, int] | None,
    pixels: tuple[int, int],
    ppi: int | None,
    flagged: bool,
) -> None:
    data = scan_file(fmt, dpi, pixels)

    url = await officer.upload(data, chunk=MIB // 2, meta=officer.meta(kind="scan"))

    receipt = await officer.receipt(url)
    assert (receipt["safe_to_wipe"], receipt["scan_ppi"]) == (True, ppi)
    if not flagged:
        assert receipt["flag"] is None
    elif ppi is None:
        assert "no resolution" in receipt["flag"]
    else:
        assert f"{ppi} PPI, below the required 180" in receipt["flag"]
    _, outbox = await ingest_rows(officer.settings)
    (event,) = [json.loads(m.payload) for m in outbox if m.event_type == "recording.ingested"]
    assert (event["scan_ppi"], event["flag"]) == (ppi, receipt["flag"])


@pytest.mark.req("E-5")
async def test_a_low_resolution_scan_is_refused_when_the_bureau_says_so(officer: Officer) -> None:
    officer.settings.ingest.reject_low_resolution_scans = True
    data = scan_file("PNG", (150, 150))
    url = await officer.new(len(data), meta=officer.meta(kind="scan"))

    response = await officer.patch(url, 0, data)

    assert response.status_code == 422
    assert response.json()["error"] == "scan_resolution"
    assert "150 PPI" in response.json()["message"]
    assert "低于" in response.json()["message_zh"]
    receipt = await officer.receipt(url)
    assert (receipt["status"], receipt["safe_to_wipe"], receipt["record_id"]) == (
        "rejected",
        False,
        None,
    )
    _, outbox = await ingest_rows(officer.settings)
    assert not [m for m in outbox if m.event_type == "recording.ingested"]
    assert originals_stored(officer.settings) == 0
    # A scan good enough is still taken.
    good = await officer.upload(scan_file("PNG", (200, 200)), meta=officer.meta(kind="scan"))
    assert (await officer.receipt(good))["scan_ppi"] == 200


async def test_only_scans_are_checked_for_resolution(officer: Officer) -> None:
    url = await officer.upload(scan_file("PNG", (72, 72)))  # a photo, not a scan

    receipt = await officer.receipt(url)

    assert (receipt["scan_ppi"], receipt["flag"], receipt["safe_to_wipe"]) == (None, None, True)


async def upload_partials(officer: Officer, pieces: list[bytes]) -> list[str]:
    """Partial uploads (tus concatenation), sent side by side as a parallel client does."""
    urls = [await officer.new(len(piece), **{"Upload-Concat": "partial"}) for piece in pieces]

    async def send(url: str, piece: bytes) -> None:
        for offset in range(0, len(piece), MIB // 2):
            response = await officer.patch(url, offset, piece[offset : offset + MIB // 2])
            assert response.status_code == 204, response.text

    await asyncio.gather(*(send(url, piece) for url, piece in zip(urls, pieces, strict=True)))
    return urls


async def create_final(officer: Officer, partials: list[str], **headers: str) -> httpx.Response:
    sent = {
        **officer.headers,
        **TUS,
        "Upload-Metadata": officer.meta(),
        "Upload-Concat": "final;" + " ".join(partials),
        **headers,
    }
    return await officer.client.post("/files/", headers=sent)


async def test_partial_uploads_sent_in_parallel_become_one_original(officer: Officer) -> None:
    data = os.urandom(3 * MIB + 17)
    pieces = [data[: MIB + 5], data[MIB + 5 : 2 * MIB], data[2 * MIB :]]
    partials = await upload_partials(officer, pieces)

    response = await create_final(officer, partials)

    assert response.status_code == 201, response.text
    final = response.headers["location"]
    receipt = await officer.receipt(final)
    assert (receipt["status"], receipt["safe_to_wipe"], receipt["size"]) == (
        "complete",
        True,
        len(data),
    )
    assert receipt["sha256"] == hashlib.sha256(data).hexdigest()
    uploads, outbox = await ingest_rows(officer.settings)
    (stored,) = [u for u in uploads if u.concat == "final"]
    assert await stored_bytes(officer.settings, stored.object_key) == data
    events = [json.loads(m.payload) for m in outbox if m.event_type == "recording.ingested"]
    assert [e["record_id"] for e in events] == [receipt["record_id"]]
    head = await officer.head(final)
    assert head.headers["upload-concat"] == "final;" + " ".join(partials)
    assert head.headers["upload-offset"] == head.headers["upload-length"] == str(len(data))
    assert (await officer.head(partials[0])).headers["upload-concat"] == "partial"
    partial_receipt = await officer.receipt(partials[0])
    assert (partial_receipt["safe_to_wipe"], partial_receipt["record_id"]) == (False, None)
    patched = await officer.patch(final, len(data), b"more")
    assert (patched.status_code, patched.json()["error"]) == (403, "final_upload")


async def test_a_final_upload_takes_only_the_callers_finished_partials(
    officer: Officer, embedded: Embedded, token: TokenFactory
) -> None:
    # Another officer of the section, with a device of their own.
    office = embedded.auth(token("office-1", Role.OFFICE))
    other = embedded.auth(token("officer-8", Role.OFFICER, section="JC1"))
    other_device = await issued_device(
        embedded.client, office, other, serial="BC-2", officer_id="officer-8"
    )
    done = await upload_partials(officer, [b"first half, "])
    unfinished = await officer.new(100, **{"Upload-Concat": "partial"})
    plain = await officer.upload(b"an ordinary upload")
    theirs = (
        await embedded.client.post(
            "/files/",
            headers={
                **other,
                **TUS,
                "Upload-Length": "3",
                "Upload-Concat": "partial",
                "Upload-Metadata": officer.meta(device_id=other_device, officer_id="officer-8"),
            },
        )
    ).headers["location"]

    refusals = {
        "unfinished": await create_final(officer, [*done, unfinished]),
        "not partial": await create_final(officer, [*done, plain]),
        "another caller's": await create_final(officer, [*done, theirs]),
        "unknown": await create_final(officer, [*done, "/files/" + "0" * 32]),
        "with a length": await create_final(officer, done, **{"Upload-Length": "12"}),
        "malformed": await create_final(officer, ["not-a-url"]),
    }

    for case, response in refusals.items():
        assert response.status_code == 400, case
    assert refusals["unfinished"].json()["error"] == "invalid_concatenation"
    assert "所列部分上传" in refusals["unfinished"].json()["message_zh"]
    assert (await create_final(officer, done)).status_code == 201


async def test_a_final_upload_cut_short_by_a_crash_is_assembled_on_its_next_head(
    officer: Officer, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(2 * MIB + 3)
    partials = await upload_partials(officer, [data[:MIB], data[MIB:]])
    with monkeypatch.context() as crashed:  # as if ingest died before assembling anything
        crashed.setattr(Uploads, "assemble_soon", lambda self, upload_id: None)
        final = (await create_final(officer, partials)).headers["location"]
        assert (await officer.head(final)).headers["upload-offset"] == "0"

    await officer.head(final)  # a later HEAD goes on with it

    receipt = await officer.receipt(final)
    assert (receipt["status"], receipt["sha256"]) == ("complete", hashlib.sha256(data).hexdigest())


async def test_a_final_upload_whose_partial_lost_its_bytes_ends_as_gone(
    officer: Officer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as crashed:  # the partial's bytes are in, not yet stored
        crashed.setattr(Uploads, "finish_soon", lambda self, upload_id: None)
        (partial,) = await upload_partials(officer, [os.urandom(MIB + 3)])
    # A power failure takes bytes the partial had acknowledged.
    uploads, _ = await ingest_rows(officer.settings)
    multipart_id = uploads[0].multipart_id
    assert multipart_id is not None
    os.truncate(officer.settings.objects_root / "multipart" / multipart_id / "data", 1000)

    response = await create_final(officer, [partial])

    assert response.status_code == 201, response.text
    final = response.headers["location"]
    for _ in range(100):  # assembled in the background
        head = await officer.head(final)
        if head.status_code != 200:
            break
        await asyncio.sleep(0.05)
    assert head.status_code == 410
    receipt = await officer.receipt(final)
    assert (receipt["status"], receipt["safe_to_wipe"]) == ("rejected", False)
    assert (await officer.head(partial)).status_code == 410
    assert originals_stored(officer.settings) == 0


async def test_partials_that_served_are_removed_once_their_time_is_up(officer: Officer) -> None:
    settings = officer.settings
    partials = await upload_partials(officer, [b"one ", b"two"])
    final = (await create_final(officer, partials)).headers["location"]
    assert (await officer.receipt(final))["safe_to_wipe"] is True
    # The store's clock is past the partials' short retention, as it is by the time they are
    # finished longer ago than the expiry.
    later = datetime.now(UTC) + timedelta(hours=settings.ingest.upload_expiry_hours + 1)
    db = Database(settings.database_url("ingest"))
    db.connect()
    store = LocalObjectStore(settings.objects_root, clock=lambda: later)
    replica = Uploads(
        db, store, make_locks(db, settings.data_dir / "locks" / "ingest"), settings.ingest
    )
    try:
        assert await sweep(replica) == 0  # they have only just served
        async with session_scope(db) as session:
            for upload in (await session.exec(select(Upload))).all():
                if upload.concat == "partial":
                    upload.finished_at = datetime.now(UTC) - replica.expiry - timedelta(hours=1)
                    session.add(upload)
        assert await sweep(replica) == 2
    finally:
        await db.dispose()

    uploads, _ = await ingest_rows(settings)
    by_kind = {u.concat: u for u in uploads}
    assert [u.status for u in uploads if u.concat == "partial"] == [UploadStatus.EXPIRED] * 2
    assert await stored_bytes(settings, by_kind[Concat.FINAL].object_key) == b"one two"
    assert originals_stored(settings) == 1


async def test_a_full_disk_is_a_clear_507_and_the_upload_goes_on_once_there_is_room(
    officer: Officer, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3 * MIB)
    url = await officer.new(len(data))
    assert (await officer.patch(url, 0, data[:MIB])).status_code == 204

    def full(self: object, chunks: list[bytes]) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as disk:
        disk.setattr(local_store._FileAppender, "write", full)
        refused = await officer.patch(url, MIB, data[MIB:])

    assert refused.status_code == 507
    assert refused.json()["error"] == "storage_unavailable"
    assert "存储空间已满" in refused.json()["message_zh"]
    assert refused.headers["retry-after"] == "60"
    assert (await officer.head(url)).headers["upload-offset"] == str(MIB)
    assert (await officer.patch(url, MIB, data[MIB:])).status_code == 204
    assert (await officer.receipt(url))["sha256"] == hashlib.sha256(data).hexdigest()


async def test_with_sm3_on_each_file_also_gets_its_sm3_in_the_same_pass(officer: Officer) -> None:
    officer.settings.ingest.sm3 = True
    data = os.urandom(3 * MIB + 11)

    url = await officer.upload(data, chunk=MIB)

    receipt = await officer.receipt(url)
    assert receipt["sm3"] == hashlib.new("sm3", data).hexdigest()
    assert receipt["sha256"] == hashlib.sha256(data).hexdigest()
    _, outbox = await ingest_rows(officer.settings)
    (event,) = [json.loads(m.payload) for m in outbox if m.event_type == "recording.ingested"]
    assert event["sm3"] == receipt["sm3"]


async def test_sm3_is_left_out_unless_turned_on(officer: Officer) -> None:
    receipt = await officer.receipt(await officer.upload(b"no SM3 asked for"))

    assert (receipt["sm3"], receipt["safe_to_wipe"]) == (None, True)
