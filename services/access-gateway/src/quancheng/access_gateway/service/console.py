"""The web console's files, as ``vite build`` leaves them in the console directory.

The console is a single-page application: every path under ``/console/`` that is not one of its
files is a page of it, answered with ``index.html`` (never cached, so a new build is seen at
once); its assets carry a content hash in their names and are cached for a year."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Only the console's own files, the API on the same origin, and nothing inline.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HASHED_ASSETS = "assets/"
CACHE_HASHED = "public, max-age=31536000, immutable"
CACHE_INDEX = "no-cache"


@dataclass(frozen=True)
class ConsoleFile:
    path: Path
    cache_control: str


class ConsoleNotBuiltError(Exception):
    """The console directory holds no build: ``make run`` makes one."""

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory))
        self.directory = directory


def console_file(directory: Path, path: str) -> ConsoleFile | None:
    """The file that answers ``/console/<path>``: the file itself, ``index.html`` for a page, or
    None for a missing asset (a stale hashed name, which a page must not be served for)."""
    root = directory.resolve()
    index = root / "index.html"
    if not index.is_file():
        raise ConsoleNotBuiltError(root)
    if path:
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file() and candidate != index:
            hashed = path.startswith(HASHED_ASSETS)
            return ConsoleFile(candidate, CACHE_HASHED if hashed else CACHE_INDEX)
        if path.startswith(HASHED_ASSETS) or "." in path.rsplit("/", 1)[-1]:
            return None
    return ConsoleFile(index, CACHE_INDEX)
