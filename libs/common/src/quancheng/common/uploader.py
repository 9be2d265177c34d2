"""The uploader of docking stations and workstations (``quancheng upload``): files to ingest with
tus (tuspy, the tus project's own Python client), resumable across restarts, retried with backoff,
each ending with the server's receipt; a file is wiped only when its receipt says so (D-14b).

Where each file's upload stands is kept in a small state file (as tuspy's URL storage), keyed by
the file's path, size, modification time and SHA-256, so a restarted run goes on from the
server's offset instead of starting again.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError
from tusclient.fingerprint.interface import Fingerprint
from tusclient.storage.interface import Storage

CHUNK_SIZE = 8 * 1024 * 1024
# Receipts asked while the original is still being stored; with the server's own wait on each,
# that is about half an hour.
RECEIPT_ATTEMPTS = 60
_KINDS = {"video": "video", "audio": "audio", "image": "photo"}
_SCANS = {".tif", ".tiff"}
_DOCUMENTS = {".pdf", ".doc", ".docx", ".ofd", ".xls", ".xlsx"}


class UploadError(Exception):
    """A file could not be uploaded (after the retries), with the server's reason."""


def kind_of(path: Path) -> str:
    """The upload kind a file's type suggests: video, audio, photo, scan or document."""
    suffix = path.suffix.lower()
    if suffix in _SCANS:
        return "scan"
    if suffix in _DOCUMENTS:
        return "document"
    guessed, _ = mimetypes.guess_type(path.name)
    major = (guessed or "").split("/")[0]
    if major not in _KINDS:
        raise UploadError(f"{path.name}: cannot tell its kind, give --kind")
    return _KINDS[major]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


class _StateKey(Fingerprint):
    """The state file's key for a file: its path, size, mtime and SHA-256."""

    def __init__(self, key: str) -> None:
        self._key = key

    def get_fingerprint(self, fs: IO[bytes]) -> str:
        return self._key


class _KeptOpen:
    """The file for tuspy, which closes a stream it is given after each read (and leaks the
    files it opens itself when given a path): its close is ours to do."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __enter__(self) -> _KeptOpen:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None


class StateFile(Storage):
    """tuspy's URL storage as one JSON file, replaced atomically on every change."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _read(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}
        return data

    def _write(self, data: dict[str, str]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1))
        os.replace(tmp, self._path)

    def get_item(self, key: str) -> str | None:
        return self._read().get(key)

    def set_item(self, key: str, url: str | None) -> None:
        if url is None:  # tuspy "sets" what it found, nothing included, when it starts
            self.remove_item(key)
            return
        self._write({**self._read(), key: url})

    def remove_item(self, key: str) -> None:
        data = self._read()
        if data.pop(key, None) is not None:
            self._write(data)


@dataclass
class Credentials:
    """A bearer token, or a device's client credentials traded for short-lived tokens."""

    server: str
    token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    _expires: float = field(default=0.0, repr=False)

    def header(self, *, renew: bool = False) -> dict[str, str]:
        if self.client_id is not None and (renew or time.monotonic() > self._expires):
            response = httpx.post(
                f"{self.server}/api/v1/device-tokens",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret or "",
                },
                timeout=30,
            )
            if response.status_code != 200:
                raise UploadError(f"the device credentials were refused: {response.text}")
            body = response.json()
            self.token = body["access_token"]
            self._expires = time.monotonic() + int(body["expires_in"]) - 60
        if self.token is None:
            raise UploadError("give --token, or --client-id and --client-secret")
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Receipt:
    path: Path
    upload_id: str
    record_id: str | None
    sha256: str | None
    size: int | None
    safe_to_wipe: bool
    wiped: bool


Progress = Callable[[Path, int, int], None]  # file, bytes on the server, file size


@dataclass
class Uploader:
    credentials: Credentials
    device_id: str
    officer_id: str
    state_dir: Path
    activity_id: str | None = None
    kind: str | None = None
    retries: int = 8
    progress: Progress | None = None
    sleep: Callable[[float], None] = time.sleep

    def upload(self, path: Path, *, wipe: bool = False) -> Receipt:
        path = path.resolve()
        stat = path.stat()
        sha256 = sha256_of(path)
        metadata = {
            "filename": path.name,
            "device_id": self.device_id,
            "officer_id": self.officer_id,
            "kind": self.kind or kind_of(path),
            # The file's time is the device's own account of when it was recorded.
            "captured_at": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
            "sha256": sha256,
        }
        if self.activity_id:
            metadata["activity_id"] = self.activity_id
        storage = StateFile(self.state_dir / "uploads.json")
        key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{sha256}"
        url = self._send(path, stat.st_size, metadata, storage, key)
        receipt = self._receipt(path, url)
        if receipt.safe_to_wipe:
            storage.remove_item(key)
        if wipe and receipt.safe_to_wipe and receipt.sha256 == sha256:
            path.unlink()
            return Receipt(**{**receipt.__dict__, "wiped": True})
        return receipt

    def _send(
        self, path: Path, size: int, metadata: dict[str, str], storage: StateFile, key: str
    ) -> str:
        attempt = 0
        renew = False
        while True:
            client = tus_client.TusClient(
                f"{self.credentials.server}/files/", headers=self.credentials.header(renew=renew)
            )
            renew = False
            try:
                with path.open("rb") as stream:
                    uploader = client.uploader(
                        file_stream=_KeptOpen(stream),
                        chunk_size=CHUNK_SIZE,
                        metadata=metadata,
                        store_url=True,
                        url_storage=storage,
                        fingerprinter=_StateKey(key),
                        upload_checksum=True,
                    )
                    if uploader.url is None:
                        uploader.set_url(uploader.create_url())
                        uploader.offset = 0
                    self._report(path, uploader.offset, size)
                    while uploader.offset < size:
                        uploader.upload_chunk()  # type: ignore[no-untyped-call]
                        attempt = 0
                        self._report(path, uploader.offset, size)
                    return str(uploader.url)
            except (TusCommunicationError, OSError, httpx.HTTPError) as exc:
                status = getattr(exc, "status_code", None)
                if status in (404, 410):  # the stored upload is gone (expired): start afresh
                    storage.remove_item(key)
                elif status == 401:
                    renew = True
                elif status is not None and 400 <= status < 500 and status != 423:
                    raise UploadError(f"{path.name}: {_reason(exc)}") from exc
                attempt += 1
                if attempt > self.retries:
                    raise UploadError(f"{path.name}: gave up after {self.retries} retries") from exc
                self.sleep(min(2 ** (attempt - 1), 60))

    def _report(self, path: Path, offset: int, size: int) -> None:
        if self.progress is not None:
            self.progress(path, offset, size)

    def _receipt(self, path: Path, url: str) -> Receipt:
        """The server's receipt, once the original is stored (it says "finishing" until then;
        each request waits on the server a while, so asking again at once is not busy)."""
        upload_id = url.rstrip("/").rsplit("/", 1)[1]
        for _ in range(RECEIPT_ATTEMPTS):
            response = httpx.get(
                f"{self.credentials.server}/api/v1/uploads/{upload_id}/receipt",
                headers=self.credentials.header(),
                timeout=120,
            )
            if response.status_code != 200:
                raise UploadError(f"{path.name}: no receipt: {response.text}")
            body: dict[str, Any] = response.json()
            if body["status"] != "finishing":
                break
            self.sleep(1)
        return Receipt(
            path=path,
            upload_id=upload_id,
            record_id=body["record_id"],
            sha256=body["sha256"],
            size=body["size"],
            safe_to_wipe=bool(body["safe_to_wipe"]),
            wiped=False,
        )


def _reason(exc: BaseException) -> str:
    content = getattr(exc, "response_content", None)
    if isinstance(content, bytes):
        return content.decode(errors="replace")
    return str(exc)


def files_of(paths: list[Path]) -> list[Path]:
    """The files named, and those inside the directories named (sorted), hidden ones skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.parts)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UploadError(f"{path}: no such file or directory")
    return found


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "quancheng-upload"
