"""Times a client gives: with their UTC offset and within the years the platform stores and computes
with. Outside them a time breaks things far from where it came in (``0001-01-01T00:00:00+14:00``
has no UTC form; ``9999-12-31`` overflows once a deadline is added to it). Times an answer gives:
in UTC, written with ``Z``, whatever offset they came in with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer
from pydantic_core import PydanticCustomError

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive

NO_OFFSET = (
    "must give its UTC offset, e.g. 2026-11-28T09:30:00+08:00",
    "必须带时区（例如 2026-11-28T09:30:00+08:00）",
)
OUT_OF_RANGE = (
    "must lie between 1970-01-01 and 2100-01-01 (UTC)",
    "须在 1970-01-01 至 2100-01-01（UTC）之间",
)


def problem(value: datetime) -> tuple[str, str] | None:
    """What is wrong with ``value`` as a client's time, in English and Chinese; None if nothing."""
    if value.utcoffset() is None:
        return NO_OFFSET
    if not EARLIEST <= value < LATEST:
        return OUT_OF_RANGE
    return None


def _checked(value: datetime) -> datetime:
    found = problem(value)
    if found is NO_OFFSET:
        raise PydanticCustomError("timezone_aware", found[0])
    if found is not None:
        raise PydanticCustomError("time_out_of_range", found[0])
    return value


def _utc(value: datetime) -> datetime:
    # A time read back from the database is UTC already; one echoed from a request is not.
    return value.astimezone(UTC) if value.utcoffset() is not None else value.replace(tzinfo=UTC)


# A time in an answer: ``2026-11-28T01:30:00Z`` in JSON, for every field alike.
Instant = Annotated[datetime, PlainSerializer(_utc, return_type=datetime)]
# A client's time in a pydantic model or a query parameter (answered as an Instant when echoed).
Moment = Annotated[Instant, AfterValidator(_checked)]
