"""A tus client no one here wrote (tuspy) against the platform as a user runs it (`quancheng up`),
over real HTTP: a large upload interrupted and resumed from the server's offset."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient import client as tus_client

from quancheng.common.auth import BuiltinIssuer, Role
from quancheng.common.settings import Settings
from quancheng.common.testing.cache import free_port
from quancheng.common.testing.kit import PRE_USE_CHECK, STAFF_CSV
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


def run_upload(
    platform: Platform, *args: str, state_dir: Path, credentials: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    token = platform.officer["Authorization"].split(" ", 1)[1]
    auth = credentials if credentials is not None else ["--token", token]
    return subprocess.run(
        [CLI, "upload", *args, "--server", platform.base, "--state-dir", str(state_dir), *auth],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.mark.req("D-14b")
def test_the_uploader_sends_a_folder_and_wipes_only_what_its_receipts_clear(
    platform: Platform, tmp_path: Path
) -> None:
    device_id = issued_device(platform, "BC-CLI-1")
    folder = tmp_path / "采集站"
    folder.mkdir()
    files = {"现场执法 第1段.mp4": os.urandom(3 * MIB + 5), "询问笔录.jpg": os.urandom(200_000)}
    for name, content in files.items():
        (folder / name).write_bytes(content)

    result = run_upload(
        platform,
        str(folder),
        "--device",
        device_id,
        "--officer",
        "officer-7",
        "--wipe",
        state_dir=tmp_path / "state",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    for name, content in files.items():
        assert name in result.stdout
        assert hashlib.sha256(content).hexdigest() in result.stdout
        assert not (folder / name).exists()  # wiped, because the receipt said so
    assert result.stdout.count("是 yes") == 4  # safe to wipe, and wiped, for both


def test_the_uploader_resumes_after_being_killed(platform: Platform, tmp_path: Path) -> None:
    device_id = issued_device(platform, "BC-CLI-2")
    source = tmp_path / "long.mp4"
    source.write_bytes(os.urandom(48 * MIB))
    state = tmp_path / "state"
    token = platform.officer["Authorization"].split(" ", 1)[1]
    command = [
        CLI, "upload", str(source), "--device", device_id, "--officer", "officer-7",
        "--server", platform.base, "--state-dir", str(state), "--token", token,
    ]  # fmt: skip
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:  # until the server holds part of the file
            urls = (
                list(json.loads((state / "uploads.json").read_text()).values())
                if (state / "uploads.json").exists()
                else []
            )
            if urls and server_offset(urls[0], platform.officer) >= 8 * MIB:
                break
            assert time.monotonic() < deadline, "the upload never got going"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    offset_at_kill = server_offset(urls[0], platform.officer)
    assert 0 < offset_at_kill < 48 * MIB

    second = run_upload(
        platform, str(source), "--device", device_id, "--officer", "officer-7", state_dir=state
    )

    assert second.returncode == 0, second.stdout + second.stderr
    assert hashlib.sha256(source.read_bytes()).hexdigest() in second.stdout
    assert server_offset(urls[0], platform.officer) == 48 * MIB  # the same upload, finished
    assert json.loads((state / "uploads.json").read_text()) == {}


def test_a_docking_station_uploads_with_its_client_credentials(
    platform: Platform, tmp_path: Path
) -> None:
    device_id = issued_device(platform, "BC-CLI-3")
    station = httpx.post(
        f"{platform.base}/api/v1/docking-stations",
        json={"name": "一科采集站", "serial_number": "DS-CLI", "section": "JC1"},
        headers=platform.office,
    ).json()
    creds = httpx.post(
        f"{platform.base}/api/v1/docking-stations/{station['id']}/credentials",
        headers=platform.office,
    ).json()
    source = tmp_path / "录音.mp3"
    source.write_bytes(os.urandom(100_000))

    result = run_upload(
        platform,
        str(source),
        "--device",
        device_id,
        "--officer",
        "officer-7",
        state_dir=tmp_path / "state",
        credentials=["--client-id", creds["client_id"], "--client-secret", creds["client_secret"]],
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert hashlib.sha256(source.read_bytes()).hexdigest() in result.stdout
    assert source.exists()  # not wiped without --wipe
