from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col

from quancheng.access_gateway.models import Account
from quancheng.common.db.repository import Repository
from quancheng.common.sorting import Sort, Sorting

ACCOUNT_SORTING = Sorting(
    {
        "username": col(Account.username),
        "display_name": col(Account.display_name),
        "created_at": col(Account.created_at),
        "updated_at": col(Account.updated_at),
    },
    unique=col(Account.username),
    default=[col(Account.username)],
)


class AccountRepository(Repository[Account]):
    model = Account

    async def page(
        self, *, sort: Sort | None, offset: int, limit: int
    ) -> tuple[Sequence[Account], int]:
        """By username, unless ``sort`` asks for another order."""
        return await self._paged(
            order_by=ACCOUNT_SORTING.order_by(sort), offset=offset, limit=limit
        )
