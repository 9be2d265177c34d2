"""Query parameters shared by the catalog's lists."""

from __future__ import annotations

from datetime import datetime

from quancheng.common.errors import ApiError


def require_offsets(**times: datetime | None) -> None:
    """A time without its UTC offset would be read in the server's zone: refuse it."""
    for name, value in times.items():
        if value is not None and value.utcoffset() is None:
            raise ApiError(
                400,
                "invalid_query",
                f"{name} must name its UTC offset (e.g. +08:00)",
                f"{name} 必须带时区（例如 +08:00）",
            )
