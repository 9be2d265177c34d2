"""``make bench-ingest``: our ingest against tusd and tuspyserver, measured in the same run.

One file (1 GiB by default) is uploaded with tus in 8 MiB PATCHes over loopback to (a) our
ingest, (b) tusd (the reference Go server) and (c) tuspyserver (the FastAPI tus server), each on
the local filesystem; then to our ingest and tusd against one MinIO. Each server runs alone, as
its own process, and the same client (http.client, one connection) drives them all. Printed: MB/s
for each, our ratio to each peer, and our ingest's peak RSS. Our ingest computes the file's
SHA-256 as it goes (it always does). Like the peers', its upload figure ends when the last PATCH
is answered; storing the original (synced to disk, write-once, recorded) follows in the
background, and a second figure ends when the receipt says it is done.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx
from minio import Minio

from quancheng.common.auth import BuiltinIssuer, Role
from quancheng.common.db import Database, session_scope, upgrade
from quancheng.common.settings import Settings
from quancheng.common.testing.cache import free_port
from quancheng.common.testing.minio import MinioServer
from quancheng.common.testing.process import CLI
from quancheng.common.testing.tusd import tusd_binary
from quancheng.ingest.config import MIGRATIONS
from quancheng.ingest.models import KnownDevice

MIB = 1024 * 1024
MB = 1_000_000
_START_TIMEOUT_SECONDS = 60
OURS, OURS_MINIO = "quancheng ingest, local files", "quancheng ingest, MinIO"
TUSD, TUSD_MINIO = "tusd, local files", "tusd, MinIO"
TUSPYSERVER = "tuspyserver, local files"
FLOOR = "floor: SHA-256 + write only"


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            httpx.options(f"http://127.0.0.1:{port}/files/", timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no answer on port {port}") from None
            time.sleep(0.2)


@contextmanager
def _server(
    command: list[str], port: int, workdir: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, **(env or {})},
        )
    try:
        _wait_listening(port, process, log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tus_upload(
    port: int, data: bytes, chunk: int, headers: dict[str, str], metadata: str = ""
) -> tuple[float, str]:
    """Create an upload and PATCH it in ``chunk``-byte pieces: the seconds the PATCHes took,
    and the upload's path."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.connect()
    # Headers and body go in separate writes: without this, Nagle's algorithm would hold the
    # body back until the headers are acknowledged (a delayed ACK), whatever the server.
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        base = {"Tus-Resumable": "1.0.0", **headers}
        create = {**base, "Upload-Length": str(len(data))}
        if metadata:
            create["Upload-Metadata"] = metadata
        conn.request("POST", "/files/", headers=create)
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"creation answered {response.status}")
        path = urlsplit(response.getheader("Location") or "").path
        view = memoryview(data)
        started = time.perf_counter()
        for offset in range(0, len(data), chunk):
            piece = view[offset : offset + chunk]
            conn.request(
                "PATCH",
                path,
                body=piece,
                headers={
                    **base,
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(offset),
                    "Content-Length": str(len(piece)),
                },
            )
            response = conn.getresponse()
            body = response.read()
            if response.status != 204:
                raise RuntimeError(f"PATCH at {offset} answered {response.status}: {body!r}")
        return time.perf_counter() - started, path
    finally:
        conn.close()


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


def _metadata(device_id: uuid.UUID) -> str:
    values = {
        "filename": "基准测试.mp4",
        "device_id": str(device_id),
        "officer_id": "bench-officer",
        "kind": "video",
        "captured_at": "2026-11-28T09:00:00+08:00",
    }
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def bench_ours(
    data: bytes, chunk: int, workdir: Path, minio: MinioServer | None
) -> tuple[float, float, float]:
    """Seconds for the upload (to the last PATCH answered, as for the peers), seconds until the
    receipt says the original is stored (on disk, write-once, recorded), and the ingest
    process's peak RSS in MiB."""
    port = free_port()
    data_dir = workdir / "var"
    env = {"QUANCHENG_TELEMETRY__LOG_LEVEL": "WARNING"}
    if minio is not None:
        env |= {
            "QUANCHENG_OBJECT_STORE__KIND": "minio",
            "QUANCHENG_OBJECT_STORE__MINIO__ENDPOINT": minio.endpoint,
            "QUANCHENG_OBJECT_STORE__MINIO__ACCESS_KEY": minio.access_key,
            "QUANCHENG_OBJECT_STORE__MINIO__SECRET_KEY": minio.secret_key,
            "QUANCHENG_OBJECT_STORE__MINIO__BUCKET": f"bench-{uuid.uuid4().hex[:12]}",
        }
    settings = Settings(data_dir=data_dir)
    device_id = uuid.uuid4()

    async def known_device() -> None:
        """Ingest runs alone: the registry's device.issued is stood in for by the row it makes."""
        url = settings.database_url("ingest")
        await anyio.to_thread.run_sync(upgrade, url, MIGRATIONS)
        db = Database(url)
        db.connect()
        try:
            async with session_scope(db) as session:
                session.add(
                    KnownDevice(
                        device_id=device_id,
                        serial_number="BENCH-1",
                        kind="body_camera",
                        section="JC1",
                        officer_id="bench-officer",
                        updated_at=datetime.now(UTC),
                    )
                )
        finally:
            await db.dispose()

    anyio.run(known_device)
    issuer = BuiltinIssuer.from_directory(
        settings.identity_dir, issuer=settings.identity.issuer, audience=settings.identity.audience
    )
    token = issuer.mint("bench-officer", [Role.OFFICER], section="JC1", ttl_seconds=3600)
    command = [CLI, "serve", "ingest", "--port", str(port), "--data-dir", str(data_dir)]
    auth = {"Authorization": f"Bearer {token}"}
    with _server(command, port, workdir, env) as process:
        seconds, location = tus_upload(port, data, chunk, auth, _metadata(device_id))
        asked = time.perf_counter()
        upload_id = location.rsplit("/", 1)[1]
        receipt = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/uploads/{upload_id}/receipt",
            headers=auth,
            timeout=120,
        ).json()
        stored = seconds + time.perf_counter() - asked
        rss = _peak_rss_mib(process.pid)
    if receipt.get("sha256") != hashlib.sha256(data).hexdigest() or not receipt["safe_to_wipe"]:
        raise RuntimeError(f"our ingest did not store the file intact: {receipt}")
    return seconds, stored, rss


def bench_tusd(data: bytes, chunk: int, workdir: Path, minio: MinioServer | None) -> float:
    port = free_port()
    command = [
        str(tusd_binary()),
        "-host",
        "127.0.0.1",
        "-port",
        str(port),
        "-base-path",
        "/files/",
    ]
    env: dict[str, str] = {}
    if minio is None:
        command += ["-upload-dir", str(workdir / "uploads")]
    else:
        bucket = f"tusd-{uuid.uuid4().hex[:12]}"
        Minio(
            minio.endpoint, access_key=minio.access_key, secret_key=minio.secret_key, secure=False
        ).make_bucket(bucket)
        command += ["-s3-bucket", bucket, "-s3-endpoint", f"http://{minio.endpoint}"]
        env = {
            "AWS_ACCESS_KEY_ID": minio.access_key,
            "AWS_SECRET_ACCESS_KEY": minio.secret_key,
            "AWS_REGION": "us-east-1",
        }
    with _server(command, port, workdir, env):
        return tus_upload(port, data, chunk, {})[0]


_TUSPYSERVER_APP = """
from fastapi import FastAPI
from tuspyserver import create_tus_router

app = FastAPI()
app.include_router(create_tus_router(prefix="files", files_dir={files!r}))
"""


def bench_tuspyserver(data: bytes, chunk: int, workdir: Path) -> float:
    port = free_port()
    (workdir / "tuspy_app.py").write_text(
        textwrap.dedent(_TUSPYSERVER_APP.format(files=str(workdir / "files")))
    )
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "tuspy_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with _server(command, port, workdir):
        return tus_upload(port, data, chunk, {})[0]


# The floor: a bare ASGI app on Granian that only hashes (SHA-256) and writes what arrives, on
# two threads as our ingest does; no tus rules, database or auth. No Python server that hashes
# can do much better on the same machine, so it shows how far the targets are reachable here.
_FLOOR_APP = """
import asyncio, hashlib, os

digest = hashlib.sha256()
out = os.open({path!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def _hash(batch):
    for piece in batch:
        digest.update(piece)


async def _store(batch):
    await asyncio.gather(asyncio.to_thread(_hash, batch), asyncio.to_thread(os.writev, out, batch))


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({{"type": "lifespan.startup.complete"}})
        await send({{"type": "lifespan.shutdown.complete"}})
        return
    headers = [(b"location", b"/files/floor")] if scope["method"] == "POST" else []
    batch, size, in_flight, more = [], 0, None, True
    while more:
        message = await receive()
        more = message.get("more_body", False)
        batch.append(message.get("body", b""))
        size += len(batch[-1])
        if size >= 2 * 1024 * 1024 or not more:
            if in_flight:
                await in_flight
            in_flight, batch, size = asyncio.ensure_future(_store(batch)), [], 0
    if in_flight:
        await in_flight
    status = 201 if scope["method"] == "POST" else 204
    await send({{"type": "http.response.start", "status": status, "headers": headers}})
    await send({{"type": "http.response.body", "body": b""}})
"""


def bench_floor(data: bytes, chunk: int, workdir: Path) -> float:
    port = free_port()
    (workdir / "floor_app.py").write_text(_FLOOR_APP.format(path=str(workdir / "upload")))
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "floor_app:app",
    ]
    with _server(command, port, workdir):
        return tus_upload(port, data, chunk, {})[0]


def run(size: int, chunk: int, *, with_minio: bool = True) -> list[str]:
    """Run every measurement; the report's lines."""
    data = os.urandom(size)
    seconds: dict[str, float] = {}
    stored: dict[str, float] = {}
    peak_rss: list[float] = []
    with tempfile.TemporaryDirectory(prefix="quancheng-bench-") as tmp:
        root = Path(tmp)

        def fresh(name: str) -> Path:
            path = root / name
            path.mkdir()
            return path

        seconds[OURS], stored[OURS], rss = bench_ours(data, chunk, fresh("ours-local"), None)
        peak_rss.append(rss)
        seconds[TUSD] = bench_tusd(data, chunk, fresh("tusd-local"), None)
        seconds[TUSPYSERVER] = bench_tuspyserver(data, chunk, fresh("tuspyserver"))
        seconds[FLOOR] = bench_floor(data, chunk, fresh("floor"))
        if with_minio:
            minio = MinioServer()
            minio.start()
            try:
                seconds[OURS_MINIO], stored[OURS_MINIO], rss = bench_ours(
                    data, chunk, fresh("ours-minio"), minio
                )
                peak_rss.append(rss)
                seconds[TUSD_MINIO] = bench_tusd(data, chunk, fresh("tusd-minio"), minio)
            finally:
                minio.stop()

    rate = {name: size / MB / s for name, s in seconds.items()}
    lines = [
        f"ingest benchmark: {size / MIB:.0f} MiB in {chunk / MIB:.0f} MiB PATCHes over loopback "
        "(ours with SHA-256; the peers' figures and ours end at the last PATCH answered, ours "
        "also when the receipt says the original is on disk, write-once and recorded)"
    ]
    lines += [f"  {name:<30} {rate[name]:8.1f} MB/s  ({seconds[name]:.2f} s)" for name in rate]
    lines += [
        f"  {name + ', original stored':<45} {size / MB / s:8.1f} MB/s  ({s:.2f} s, to the receipt)"
        for name, s in stored.items()
    ]
    lines.append(f"  ours / tusd (local files):     {rate[OURS] / rate[TUSD]:.2f}")
    lines.append(f"  ours / tuspyserver:            {rate[OURS] / rate[TUSPYSERVER]:.2f}")
    lines.append(f"  floor / tusd (local files):    {rate[FLOOR] / rate[TUSD]:.2f}")
    lines.append(f"  floor / tuspyserver:           {rate[FLOOR] / rate[TUSPYSERVER]:.2f}")
    if with_minio:
        lines.append(f"  ours / tusd (MinIO):           {rate[OURS_MINIO] / rate[TUSD_MINIO]:.2f}")
    lines.append(f"  our ingest's peak RSS:         {max(peak_rss):.0f} MiB")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--no-minio", action="store_true")
    args = parser.parse_args(argv)
    for line in run(args.size_mib * MIB, args.chunk_mib * MIB, with_minio=not args.no_minio):
        sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
