"""A private MinIO server in a temporary directory on 127.0.0.1, built with ``go install``.

MinIO publishes no versioned Go module tags, so the build is pinned to a pseudo-version; the binary
it gives reports itself as ``DEVELOPMENT.GOGET``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from quancheng.common.testing.cache import cache_dir, free_ports, go_build

MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
_START_TIMEOUT_SECONDS = 60
_STOP_TIMEOUT_SECONDS = 10


def minio_binary() -> Path:
    """Where :func:`install` puts ``minio`` (it may not be there yet)."""
    return cache_dir() / "bin" / "minio"


def install() -> Path:
    """Build MinIO into the cache's ``bin`` directory unless a binary is already there."""
    binary = minio_binary()
    if not binary.is_file():
        go_build("MinIO", MINIO_MODULE, MINIO_VERSION, binary)
    return binary


class MinioServer:
    """One single-drive MinIO server with random root credentials; its data goes on stop."""

    def __init__(self) -> None:
        self.port, self.console_port = free_ports(2)
        self.access_key = f"quancheng-{secrets.token_hex(4)}"
        self.secret_key = secrets.token_urlsafe(24)
        self._dir = Path(tempfile.mkdtemp(prefix="quancheng-minio-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """``host:port``, as the SDK and ``MinioSettings.endpoint`` take it."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self._dir / "server.log"

    def start(self) -> None:
        binary = minio_binary()
        if not binary.is_file():
            raise RuntimeError(
                "MinIO is not installed: run python -m quancheng.common.testing.minio"
            )
        env = {
            **os.environ,
            "MINIO_ROOT_USER": self.access_key,
            "MINIO_ROOT_PASSWORD": self.secret_key,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
        }
        command = [
            str(binary),
            "server",
            str(self._dir / "data"),
            "--address",
            self.endpoint,
            "--console-address",
            f"127.0.0.1:{self.console_port}",
            "--certs-dir",
            str(self._dir / "certs"),
            "--quiet",
        ]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_live(self._process)
        except BaseException:
            self.stop()
            raise

    def _wait_until_live(self, process: subprocess.Popen[bytes]) -> None:
        url = f"http://{self.endpoint}/minio/health/live"
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"MinIO exited at start:\n{self._log_tail()}")
            try:
                if httpx.get(url, timeout=2).status_code == httpx.codes.OK:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"MinIO did not come up in {_START_TIMEOUT_SECONDS} s:\n{self._log_tail()}"
                )
            time.sleep(0.2)

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except FileNotFoundError:
            return ""

    def pause(self) -> None:
        """Stop the server but keep its data, as an outage would; :meth:`start` brings it back on
        the same port."""
        try:
            if self._process is not None and self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=_STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
        finally:
            self._process = None

    def stop(self) -> None:
        try:
            self.pause()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)


if __name__ == "__main__":
    install()
