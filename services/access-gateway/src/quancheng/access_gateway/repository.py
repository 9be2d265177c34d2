from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col

from quancheng.access_gateway.models import Account
from quancheng.common.db.repository import Repository


class AccountRepository(Repository[Account]):
    model = Account

    async def page(self, *, offset: int, limit: int) -> tuple[Sequence[Account], int]:
        return await self._paged(order_by=[col(Account.username)], offset=offset, limit=limit)
