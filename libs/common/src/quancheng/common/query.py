"""A query parameter that an operation doesn't take is refused (400), never ignored: a misspelt or
unsupported filter would otherwise answer as if there were none, listing everything."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from quancheng.common.errors import ApiError

_TAKEN: dict[int, frozenset[str]] = {}


def _declared(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared(sub)
    return names


def taken_by(route: APIRoute) -> frozenset[str]:
    """The query parameters ``route`` declares, its dependencies' included."""
    taken = _TAKEN.get(id(route))
    if taken is None:
        taken = _TAKEN[id(route)] = frozenset(_declared(route.dependant))
    return taken


async def refuse_unknown_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    taken = taken_by(route)
    unknown = sorted(set(request.query_params) - taken)
    if not unknown:
        return
    takes = ", ".join(sorted(taken)) or "none"
    takes_zh = "、".join(sorted(taken)) or "无"
    raise ApiError(
        400,
        "unknown_query_parameter",
        f"this operation takes no query parameter {', '.join(unknown)} (it takes: {takes})",
        f"本接口不支持查询参数 {'、'.join(unknown)}（可用：{takes_zh}）",
    )
