"""The allocation standard (A-7, 配备标准): one body camera per frontline officer; one camera, one
voice recorder and one camcorder per supervisory section (监管科室). Devices lost or retired no
longer count; devices in maintenance still do (they come back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.auth import Principal
from quancheng.common.clock import utcnow
from quancheng.common.errors import ApiError
from quancheng.device_registry.models import DeviceKind, Section
from quancheng.device_registry.repository import (
    DeviceRepository,
    OfficerRepository,
    SectionRepository,
)
from quancheng.device_registry.service import scope

PER_SUPERVISORY_SECTION = (DeviceKind.CAMERA, DeviceKind.VOICE_RECORDER, DeviceKind.CAMCORDER)


@dataclass(frozen=True)
class Line:
    kind: DeviceKind
    required: int
    in_service: int  # lost and retired devices left out
    shortfall: int


@dataclass(frozen=True)
class SectionShare:
    code: str
    name: str
    supervisory: bool
    frontline_officers: int
    lines: list[Line]
    shortfall: int


@dataclass(frozen=True)
class Allocation:
    generated_at: datetime
    sections: list[SectionShare]
    totals: list[Line]


def required(kind: DeviceKind, section: Section, frontline_officers: int) -> int:
    if kind is DeviceKind.BODY_CAMERA:
        return frontline_officers
    return 1 if section.supervisory and kind in PER_SUPERVISORY_SECTION else 0


def _line(kind: DeviceKind, need: int, have: int) -> Line:
    return Line(
        kind=kind,
        required=need,
        in_service=have,
        shortfall=max(need - have, 0),
    )


async def report(session: AsyncSession, principal: Principal) -> Allocation:
    if scope.sees_all(principal):
        only = None
    elif (own := await scope.own_section(session, principal)) is not None:
        only = own
    else:
        raise ApiError(
            403,
            "forbidden",
            "the allocation report is for the office, supervisors, section heads and custodians",
            "配备情况报表仅供办公室、执法监督、科室负责人和设备专管员查看",
        )
    frontline = await OfficerRepository(session).frontline_counts()
    have = await DeviceRepository(session).in_service_counts()
    sections = [s for s in await SectionRepository(session).all() if only in (None, s.code)]
    rows: list[SectionShare] = []
    for section in sections:
        officers = frontline.get(section.code, 0)
        lines = [
            _line(kind, required(kind, section, officers), have.get((section.code, kind), 0))
            for kind in DeviceKind
        ]
        rows.append(
            SectionShare(
                code=section.code,
                name=section.name,
                supervisory=section.supervisory,
                frontline_officers=officers,
                lines=lines,
                shortfall=sum(line.shortfall for line in lines),
            )
        )
    # Shortfalls are not netted across sections: a spare camera in one section does not make
    # up for another's missing one, so the bureau's shortfall is the sum of the sections'.
    totals: list[Line] = []
    for kind in DeviceKind:
        of_kind = [line for row in rows for line in row.lines if line.kind is kind]
        totals.append(
            Line(
                kind=kind,
                required=sum(line.required for line in of_kind),
                in_service=sum(line.in_service for line in of_kind),
                shortfall=sum(line.shortfall for line in of_kind),
            )
        )
    return Allocation(generated_at=utcnow(), sections=rows, totals=totals)
