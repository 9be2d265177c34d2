"""What every repository does with its table: find a row by its key, add one (or keep the changes
made to one read before) or rows of the tables that belong with it, and read a page of rows with
their total."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

M = TypeVar("M", bound=SQLModel)


class Repository(Generic[M]):
    """The rows of ``model`` in one session. The session's owner commits; a repository only
    flushes, so that a constraint the database keeps fails at the call that broke it."""

    # The table ``get`` reads by primary key (a repository of two tables names none).
    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: Any) -> M | None:
        return await self.session.get(self.model, key)

    async def add(self, row: M) -> M:
        """A new row, or one read before and changed since."""
        self.session.add(row)
        await self.session.flush()
        return row

    async def keep(self, *rows: SQLModel) -> None:
        """Rows of the tables that belong with ``model`` (a request's items, say), new or
        changed."""
        self.session.add_all(rows)
        await self.session.flush()

    async def _paged(
        self,
        *conditions: ColumnElement[bool],
        order_by: Sequence[Any],
        offset: int,
        limit: int,
    ) -> tuple[Sequence[M], int]:
        """One page of the rows that meet ``conditions``, and how many do in all. ``order_by``
        must end with a unique column, so that pages never overlap nor skip a row."""
        query = select(self.model).where(*conditions)
        count = select(func.count()).select_from(self.model).where(*conditions)
        rows = (
            await self.session.exec(query.order_by(*order_by).offset(offset).limit(limit))
        ).all()
        return rows, (await self.session.exec(count)).one()
