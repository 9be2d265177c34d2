"""A tus client no one here wrote (tuspy) against the platform as a user runs it (`quancheng up`),
over real HTTP: a large upload interrupted and resumed from the server's offset."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient import client as tus_client

from conftest import PRE_USE_CHECK, STAFF_CSV
from quancheng.common.auth import BuiltinIssuer, Role
from quancheng.common.settings import Settings
from quancheng.common.testing.cache import free_port
from quancheng.common.testing.process import CLI, running

MIB = 1024 * 1024


@dataclass
class Platform:
    base: str
    office: dict[str, str]
    officer: dict[str, str]
    data_dir: Path


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data_dir = tmp_path_factory.mktemp("tus") / "var"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([CLI, "up", "--port", str(port), "--data-dir", str(data_dir)], f"{base}/healthz"):
        settings = Settings(data_dir=data_dir)
        issuer = BuiltinIssuer.from_directory(
            settings.identity_dir,
            issuer=settings.identity.issuer,
            audience=settings.identity.audience,
        )
        office = {"Authorization": f"Bearer {issuer.mint('office-1', [Role.OFFICE])}"}
        officer = {
            "Authorization": f"Bearer {issuer.mint('officer-7', [Role.OFFICER], section='JC1')}"
        }
        for kind, csv in STAFF_CSV.items():
            response = httpx.post(
                f"{base}/api/v1/imports?kind={kind}",
                content=csv.encode(),
                headers={**office, "Content-Type": "text/csv"},
            )
            assert response.status_code == 200, response.text
        yield Platform(base, office, officer, data_dir)


def issued_device(platform: Platform, serial: str) -> str:
    body = {"kind": "body_camera", "serial_number": serial, "model": "DSJ", "section": "JC1"}
    base, office = platform.base, platform.office
    device_id: str = httpx.post(f"{base}/api/v1/devices", json=body, headers=office).json()["id"]
    for path, payload in (
        ("transitions", {"to": "in_stock"}),
        ("issue", {"officer_id": "officer-7", "check": PRE_USE_CHECK}),
    ):
        moved = httpx.post(
            f"{base}/api/v1/devices/{device_id}/{path}", json=payload, headers=office
        )
        assert moved.status_code == 200, moved.text
    params = {"device_id": device_id, "officer_id": "officer-7"}
    deadline = time.monotonic() + 10
    while (
        httpx.get(
            f"{base}/api/v1/upload-permission", params=params, headers=platform.officer
        ).status_code
        != 200
    ):
        assert time.monotonic() < deadline, "ingest never learnt of the issue"
        time.sleep(0.1)
    return device_id


def cut_off_patch(url: str, headers: dict[str, str], offset: int, data: bytes, send: int) -> None:
    """A PATCH whose connection drops after ``send`` of its ``len(data)`` bytes."""
    parts = urlsplit(url)
    lines = [
        f"PATCH {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Tus-Resumable: 1.0.0",
        "Content-Type: application/offset+octet-stream",
        f"Upload-Offset: {offset}",
        f"Content-Length: {len(data)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.sendall(data[:send])
        time.sleep(0.5)  # let the server take in what came before the line drops


def server_offset(url: str, headers: dict[str, str]) -> int:
    head = httpx.head(url, headers={**headers, "Tus-Resumable": "1.0.0"})
    assert head.status_code == 200, head.text
    return int(head.headers["upload-offset"])


@pytest.mark.req("A-13")
@pytest.mark.req("E-11")
def test_tuspy_uploads_200_mib_interrupted_and_resumed(platform: Platform, tmp_path: Path) -> None:
    device_id = issued_device(platform, "BC-TUS-1")
    source = tmp_path / "执法记录 2026-11-28.mp4"
    with source.open("wb") as out:
        for _ in range(200):
            out.write(os.urandom(MIB))
    data = source.read_bytes()
    metadata = {
        "filename": source.name,
        "device_id": device_id,
        "officer_id": "officer-7",
        "kind": "video",
        "captured_at": "2026-11-28T09:00:00+08:00",
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    client = tus_client.TusClient(f"{platform.base}/files/", headers=platform.officer)

    # The app sends the first 60 MiB, with a SHA-1 checksum on each 5 MiB chunk...
    with source.open("rb") as stream:
        first = client.uploader(
            file_stream=stream, chunk_size=5 * MIB, metadata=metadata, upload_checksum=True
        )
        first.upload(stop_at=60 * MIB)
    assert first.url is not None
    assert server_offset(first.url, platform.officer) == 60 * MIB
    # ...then the line drops half-way through a chunk: what arrived is kept...
    cut_off_patch(first.url, platform.officer, 60 * MIB, data[60 * MIB : 65 * MIB], 3 * MIB)
    resumed_at = server_offset(first.url, platform.officer)
    assert 60 * MIB < resumed_at <= 63 * MIB

    # ...and a new session of the app resumes from the server's offset.
    with source.open("rb") as stream:
        second = client.uploader(
            file_stream=stream,
            chunk_size=5 * MIB,
            metadata=metadata,
            url=first.url,
            upload_checksum=True,
        )
        assert second.offset == resumed_at
        second.upload()

    upload_id = first.url.rsplit("/", 1)[1]
    receipt = httpx.get(
        f"{platform.base}/api/v1/uploads/{upload_id}/receipt", headers=platform.officer
    ).json()
    assert receipt["safe_to_wipe"] is True
    assert (receipt["sha256"], receipt["size"], receipt["filename"]) == (
        hashlib.sha256(data).hexdigest(),
        len(data),
        source.name,
    )
    stored = [p for p in (platform.data_dir / "objects" / "objects").rglob("*") if p.is_file()]
    assert len(stored) == 1
    assert hashlib.sha256(stored[0].read_bytes()).hexdigest() == receipt["sha256"]
