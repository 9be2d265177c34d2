"""tusd, the reference tus server, as the peer the ingest benchmark measures itself against.
Built with ``go install`` into the test servers' cache."""

from __future__ import annotations

from pathlib import Path

from quancheng.common.testing.cache import cache_dir, go_build

TUSD_PACKAGE = "github.com/tus/tusd/v2/cmd/tusd"
TUSD_VERSION = "v2.9.1"


def tusd_binary() -> Path:
    """Where :func:`install` puts ``tusd`` (it may not be there yet)."""
    return cache_dir() / "bin" / "tusd"


def install() -> Path:
    """Build tusd into the cache's ``bin`` directory unless it is already there."""
    binary = tusd_binary()
    if not binary.is_file():
        go_build("tusd", TUSD_PACKAGE, TUSD_VERSION, binary)
    return binary
