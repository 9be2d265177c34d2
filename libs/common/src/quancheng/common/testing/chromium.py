"""Chromium from Debian's packages for the console's browser tests (driven by Playwright, whose
own browser downloads are not used), with a CJK font so that screenshots show the Chinese text."""

from __future__ import annotations

from pathlib import Path

from quancheng.common.testing.cache import apt_install

CHROMIUM = Path("/usr/bin/chromium")
# The font file of Debian's fonts-wqy-microhei.
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def install() -> None:
    """Chromium and the WenQuanYi Micro Hei font, unless both are already there."""
    if CHROMIUM.is_file() and CJK_FONT.is_file():
        return
    apt_install("chromium", "fonts-wqy-microhei")


def executable() -> Path:
    """The Chromium that the browser tests launch."""
    if not CHROMIUM.is_file():
        raise RuntimeError(
            f"Chromium is not installed at {CHROMIUM}: run scripts/install-test-servers"
        )
    return CHROMIUM
