"""Scans (E-5): the resolution a JPEG, PNG or TIFF file states in its header.

The header is read from bytes kept while the upload streamed in (its first MiB, and its last
64 KiB, where TIFF writers often put the directory that holds the resolution), never from the
stored file. Pillow parses it; the pixels are never decoded.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

HEAD_BYTES = 1024 * 1024
END_BYTES = 64 * 1024


class HeaderBytes:
    """Keeps a file's first HEAD_BYTES and its last END_BYTES (so far) as it streams in."""

    def __init__(self, head: bytes, end: bytes) -> None:
        self.head = bytearray(head)
        self.end = bytearray(end)

    def take(self, offset: int, chunk: bytes) -> None:
        """``chunk`` arrived at ``offset`` of the file."""
        if offset < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - offset]
        self.end += chunk[-END_BYTES:]
        del self.end[: max(0, len(self.end) - END_BYTES)]


class _Sparse(io.RawIOBase):
    """A read-only file of ``size`` bytes of which only the start and the end are known; what
    lies between reads as zeros (a header parser never needs it)."""

    def __init__(self, head: bytes, end: bytes, size: int) -> None:
        self._head = head
        self._end = end
        self._end_at = size - len(end)
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        start = self._position
        stop = min(self._size, start + len(buffer))
        if stop <= start:
            return 0
        out = bytearray(stop - start)
        for known, at in ((self._head, 0), (self._end, self._end_at)):
            lo, hi = max(start, at), min(stop, at + len(known))
            if lo < hi:
                out[lo - start : hi - start] = known[lo - at : hi - at]
        buffer[: len(out)] = out
        self._position = stop
        return len(out)


def resolution_ppi(head: bytes, end: bytes, size: int) -> int | None:
    """The lower of the horizontal and vertical resolution the file states, in pixels per inch
    (rounded); None if it is not a JPEG, PNG or TIFF or states no resolution."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a TIFF tag Pillow does not know
            with Image.open(io.BufferedReader(_Sparse(head, end, size))) as image:
                if image.format not in ("JPEG", "PNG", "TIFF"):
                    return None
                dpi = image.info.get("dpi")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    if not dpi or min(dpi) <= 0:
        return None
    return round(min(float(dpi[0]), float(dpi[1])))
