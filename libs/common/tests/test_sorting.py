"""``Sorting``: a list's ``sort`` checked against its keys, turned into an order that ends on the
list's unique column with empty values last, or the list's own order without one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import column, select, table
from sqlalchemy.dialects import sqlite

from quancheng.common.errors import ApiError, install_error_handlers
from quancheng.common.sorting import Sort, Sorting

NOTES = table("notes", column("id"), column("title"), column("size"))
SORTING = Sorting(
    {"title": NOTES.c.title, "size": NOTES.c.size, "id": NOTES.c.id},
    unique=NOTES.c.id,
    default=[NOTES.c.size.desc(), NOTES.c.id],
)


def order_of(order_by: Sequence[Any]) -> str:
    query = select(NOTES.c.id).order_by(*order_by)
    return str(query.compile(dialect=sqlite.dialect())).split("ORDER BY ")[1]


def test_a_key_orders_by_its_column_then_the_unique_one_with_empty_values_last() -> None:
    ascending = SORTING.parse("title")
    descending = SORTING.parse("-title")

    assert (ascending, descending) == (Sort("title"), Sort("title", descending=True))
    assert order_of(SORTING.order_by(ascending)) == "notes.title ASC NULLS LAST, notes.id"
    assert order_of(SORTING.order_by(descending)) == "notes.title DESC NULLS LAST, notes.id"
    assert order_of(SORTING.order_by(SORTING.parse("-id"))) == "notes.id DESC NULLS LAST"


def test_without_a_sort_the_list_keeps_its_own_order() -> None:
    assert SORTING.parse(None) is None
    assert order_of(SORTING.order_by(None)) == "notes.size DESC, notes.id"


@pytest.mark.parametrize("sort", ["colour", "--title", "-", "", "Title"])
def test_an_unknown_key_is_refused_naming_the_keys(sort: str) -> None:
    with pytest.raises(ApiError) as refused:
        SORTING.parse(sort)

    assert (refused.value.status_code, refused.value.code) == (400, "invalid_sort")
    key = sort.removeprefix("-")
    assert refused.value.message_zh.startswith(f"不支持按 {key} 排序，可用：title、size、id")
    assert "title, size, id" in refused.value.message


async def test_the_parameter_names_the_keys_in_the_openapi_and_refuses_with_400() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/notes")
    async def notes(sort: Annotated[str | None, SORTING.query()] = None) -> str:
        return str(SORTING.parse(sort))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sorting") as client:
        schema = (await client.get("/openapi.json")).json()
        refused = await client.get("/notes", params={"sort": "colour"})

    (parameter,) = schema["paths"]["/notes"]["get"]["parameters"]
    assert parameter["name"] == "sort"
    assert "title, size, id" in parameter["description"]
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_sort")
    assert "可用：title、size、id" in refused.json()["message_zh"]
