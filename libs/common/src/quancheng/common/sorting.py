"""The ``sort`` parameter every paged list takes: ``sort=key`` orders the list by that key's
column, ``sort=-key`` in reverse, and without it the list keeps its own order. Each list names
the keys it sorts by; its route checks the request's ``sort`` (:meth:`Sorting.parse`) and its
repository turns it into the ``order_by`` of ``Repository._paged`` (:meth:`Sorting.order_by`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Query
from sqlalchemy import SQLColumnExpression

from quancheng.common.errors import ApiError


@dataclass(frozen=True)
class Sort:
    """A request's ``sort``, checked against its list's keys."""

    key: str
    descending: bool = False


class Sorting:
    """How one list may be ordered: by the column of each of ``keys``, then by ``unique`` (so
    that pages never overlap nor skip a row), empty values last either way (SQLite and
    PostgreSQL would each place them differently); without a ``sort``, by ``default``."""

    def __init__(
        self,
        keys: Mapping[str, SQLColumnExpression[Any]],
        *,
        unique: SQLColumnExpression[Any],
        default: Sequence[Any],
    ) -> None:
        self.keys = dict(keys)
        self.unique = unique
        self.default = tuple(default)

    def query(self) -> Any:
        """The route's parameter: ``sort: Annotated[str | None, SORTING.query()] = None``."""
        return Query(
            description=f"order by {', '.join(self.keys)}; -key for descending (empty values "
            "last either way); without it, the list's own order",
        )

    def parse(self, sort: str | None) -> Sort | None:
        """The request's ``sort``, or None for the list's own order; an unknown key is refused."""
        if sort is None:
            return None
        descending = sort.startswith("-")
        key = sort[1:] if descending else sort
        if key not in self.keys:
            raise ApiError(
                400,
                "invalid_sort",
                f"this list can't be sorted by {key!r} (it sorts by: {', '.join(self.keys)}; "
                "-key for descending)",
                f"不支持按 {key} 排序，可用：{'、'.join(self.keys)}（键前加 - 为降序）",
            )
        return Sort(key, descending)

    def order_by(self, sort: Sort | None) -> Sequence[Any]:
        """The ``order_by`` of a checked ``sort``: its column, then the unique one."""
        if sort is None:
            return self.default
        column = self.keys[sort.key]
        first = (column.desc() if sort.descending else column.asc()).nulls_last()
        return (first,) if column is self.unique else (first, self.unique)
