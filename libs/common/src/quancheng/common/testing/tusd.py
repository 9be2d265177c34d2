"""tusd, the reference tus server, as the peer the ingest benchmark measures itself against.
Built with ``go install`` into the test servers' cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from quancheng.common.testing.cache import cache_dir

TUSD_PACKAGE = "github.com/tus/tusd/v2/cmd/tusd"
TUSD_VERSION = "v2.9.1"
_INSTALL_TIMEOUT_SECONDS = 3600


def tusd_binary() -> Path:
    """Where :func:`install` puts ``tusd`` (it may not be there yet)."""
    return cache_dir() / "bin" / "tusd"


def install() -> Path:
    """Build tusd into the cache's ``bin`` directory unless it is already there."""
    binary = tusd_binary()
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        raise RuntimeError(f"Go is needed to build tusd {TUSD_VERSION}: install Go 1.24 or later")
    binary.parent.mkdir(parents=True, exist_ok=True)
    print(f"building tusd {TUSD_VERSION} with go install into {binary.parent}", flush=True)
    started = time.monotonic()
    subprocess.run(
        [go, "install", f"{TUSD_PACKAGE}@{TUSD_VERSION}"],
        check=True,
        env={**os.environ, "GOBIN": str(binary.parent)},
        timeout=_INSTALL_TIMEOUT_SECONDS,
    )
    print(f"tusd built in {time.monotonic() - started:.0f} s", flush=True)
    return binary
