"""Every query of the catalog."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Subquery, and_, bindparam, case, false, func, or_, true
from sqlalchemy import select as core_select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped
from sqlmodel import col, select

from quancheng.catalog.models import (
    AccessEventKind,
    Activity,
    ActivityKind,
    ActivityOfficer,
    ActivityStatus,
    ActivityType,
    Enterprise,
    Exemption,
    IdempotencyKey,
    Interruption,
    KnownOfficer,
    KnownSection,
    Record,
    RecordAccess,
    RecordingDuty,
)
from quancheng.common.auth import Clearance
from quancheng.common.db.repository import Repository
from quancheng.common.sorting import Sort, Sorting

# Ids per IN (…) list: a year's report may name more activities than a statement takes
# parameters (65 535 on PostgreSQL, 32 766 on many SQLite builds).
_BATCH = 1000


def _batches(ids: Collection[UUID]) -> Iterator[list[UUID]]:
    listed = list(ids)
    for start in range(0, len(listed), _BATCH):
        yield listed[start : start + _BATCH]


@dataclass(frozen=True)
class Visibility:
    """What a caller may see: everything, a section's, and/or one officer's own (the recordings
    they made, the activities they took part in); of records, only those their clearance
    reaches (B-11). Every query that reads records for a caller applies it, here."""

    everything: bool = False
    section: str | None = None
    officer: str | None = None
    clearance: Clearance = Clearance.PUBLIC

    def records(self) -> ColumnElement[bool]:
        """Records on their own (lists, one by id, the unassigned): by their section or officer."""
        officers = None if self.officer is None else col(Record.officer_id) == self.officer
        return and_(self._either(col(Record.section), officers), self.cleared())

    def cleared(self) -> ColumnElement[bool]:
        """Records the caller's clearance reaches. The records of an activity are seen through
        the activity (its section and officers), so only this applies to them."""
        return col(Record.secrecy).in_([c for c in Clearance if self.clearance.allows(c)])

    def activities(self) -> ColumnElement[bool]:
        officers = None
        if self.officer is not None:
            taking_part = select(ActivityOfficer.activity_id).where(
                col(ActivityOfficer.officer_id) == self.officer
            )
            # Those they took part in, and those they recorded for colleagues.
            officers = or_(
                col(Activity.id).in_(taking_part), col(Activity.created_by) == self.officer
            )
        return self._either(col(Activity.section), officers)

    def _either(
        self, section: Mapped[Any], officers: ColumnElement[bool] | None
    ) -> ColumnElement[bool]:
        if self.everything:
            return true()
        allowed = [] if officers is None else [officers]
        if self.section is not None:
            allowed.append(section == self.section)
        return or_(*allowed) if allowed else false()

    def admits_activity(self, activity: Activity) -> bool:
        return self._admits(activity.section, [*activity.officers, activity.created_by])

    def _admits(self, section: str | None, officers: list[str]) -> bool:
        return (
            self.everything
            or (self.section is not None and section == self.section)
            or (self.officer is not None and self.officer in officers)
        )


@dataclass(frozen=True)
class RecordFilter:
    """What a search asks for; None means any."""

    section: str | None = None
    officer_id: str | None = None
    device_id: str | None = None
    kind: str | None = None
    activity_id: str | None = None
    unassigned: bool | None = None  # True: not yet linked to an activity (A-3, D-11)
    captured_from: datetime | None = None
    captured_to: datetime | None = None
    enterprise_id: UUID | None = None
    activity_kind: ActivityKind | None = None
    activity_type: ActivityType | None = None
    # Words that must all appear in the file name, what it proves, or its activity's matter,
    # case number or enterprise name (Chinese fragments of any length).
    text: str | None = None

    def conditions(self, dialect: str = "postgresql") -> list[ColumnElement[bool]]:
        wanted: list[ColumnElement[bool]] = []
        for column, value in (
            (Record.section, self.section),
            (Record.officer_id, self.officer_id),
            (Record.device_id, self.device_id),
            (Record.kind, self.kind),
            (Record.activity_id, self.activity_id),
            (Record.enterprise_id, self.enterprise_id),
            (Record.activity_kind, self.activity_kind),
            (Record.activity_type, self.activity_type),
        ):
            if value is not None:
                wanted.append(col(column) == value)
        if self.unassigned is not None:
            linked = col(Record.activity_id).is_(None)
            wanted.append(linked if self.unassigned else ~linked)
        if self.captured_from is not None:
            wanted.append(col(Record.captured_at) >= self.captured_from)
        if self.captured_to is not None:
            wanted.append(col(Record.captured_at) < self.captured_to)
        for n, word in enumerate((self.text or "").split()):
            wanted.append(_mentions(word, n, dialect))
        return wanted


def _mentions(word: str, n: int, dialect: str) -> ColumnElement[bool]:
    """On PostgreSQL, ILIKE (served by the pg_trgm index); on SQLite, the FTS5 trigram table for
    words of three characters or more and LIKE for shorter ones, which trigrams can't index."""
    if dialect == "sqlite" and len(word) >= 3:
        phrase = '"' + word.replace('"', '""') + '"'
        # Only the parameter's name varies; the word itself is bound.
        matching = sql_text(
            f"SELECT record_id FROM records_fts WHERE records_fts MATCH :word{n}"  # noqa: S608
        ).bindparams(bindparam(f"word{n}", phrase))
        return col(Record.record_id).in_(matching)
    return col(Record.search_text).icontains(word, autoescape=True)


RECORD_SORTING = Sorting(
    {
        "captured_at": col(Record.captured_at),
        "filename": col(Record.filename),
        "kind": col(Record.kind),
        "officer_id": col(Record.officer_id),
        "section": col(Record.section),
        "size": col(Record.size),
        "ingested_at": col(Record.ingested_at),
    },
    unique=col(Record.record_id),
    default=[col(Record.captured_at).desc().nulls_last(), col(Record.record_id).asc()],
)


class RecordRepository(Repository[Record]):
    """``get`` finds a record whoever may see it, for bookkeeping; :meth:`one` answers callers."""

    model = Record

    async def claiming(self, activity_ref: str) -> Sequence[Record]:
        """Records whose upload named ``activity_ref`` before the catalog knew that activity."""
        query = select(Record).where(col(Record.activity_ref) == activity_ref)
        return (await self.session.exec(query)).all()

    async def of_activities(self, activity_ids: Collection[UUID]) -> list[Record]:
        """Every record of the activities: for the catalog's own bookkeeping (reindexing,
        archiving), never to answer a caller (:meth:`seen_of_activities` does that)."""
        rows: list[Record] = []
        for batch in _batches(activity_ids):
            query = select(Record).where(col(Record.activity_id).in_([str(a) for a in batch]))
            rows += (await self.session.exec(query)).all()
        return rows

    async def seen_of_activities(
        self, activity_ids: Collection[UUID], *, visibility: Visibility
    ) -> tuple[list[Record], list[Record]]:
        """The records of activities the caller may see, as (shown, withheld): those the
        caller's clearance reaches and those it doesn't. The withheld are only to check the
        activities by and to count, never to show."""
        shown: list[Record] = []
        withheld: list[Record] = []
        cleared = visibility.cleared().label("cleared")
        for batch in _batches(activity_ids):
            query = select(Record, cleared).where(
                col(Record.activity_id).in_([str(a) for a in batch])
            )
            for record, seen in (await self.session.exec(query)).all():
                (shown if seen else withheld).append(record)
        return shown, withheld

    async def by_object_key(self, object_key: str) -> Record | None:
        query = select(Record).where(col(Record.object_key) == object_key)
        return (await self.session.exec(query)).first()

    async def of_enterprise(self, enterprise_id: UUID) -> Sequence[Record]:
        query = select(Record).where(col(Record.enterprise_id) == enterprise_id)
        return (await self.session.exec(query)).all()

    async def unassigned(self, *, visibility: Visibility, wanted: RecordFilter) -> Sequence[Record]:
        query = select(Record).where(
            visibility.records(),
            col(Record.activity_id).is_(None),
            *wanted.conditions(self._dialect()),
        )
        return (await self.session.exec(query)).all()

    async def one(self, record_id: UUID, *, visibility: Visibility) -> Record | None:
        query = select(Record).where(col(Record.record_id) == record_id, visibility.records())
        return (await self.session.exec(query)).first()

    async def selection(
        self,
        *,
        visibility: Visibility,
        record_ids: Collection[UUID],
        activity_ids: Collection[UUID],
        enterprise_id: UUID | None,
        limit: int,
    ) -> tuple[Sequence[Record], int]:
        """The records the caller may see that are named by id, tied to one of the activities or
        to the enterprise: the first ``limit`` captured (undated last, then by id), and how
        many there are in all."""
        named: list[ColumnElement[bool]] = []
        if record_ids:
            named.append(col(Record.record_id).in_(list(record_ids)))
        if activity_ids:
            named.append(col(Record.activity_id).in_([str(a) for a in activity_ids]))
        if enterprise_id is not None:
            named.append(col(Record.enterprise_id) == enterprise_id)
        return await self._paged(
            visibility.records(),
            or_(*named) if named else false(),
            order_by=[col(Record.captured_at).asc().nulls_last(), col(Record.record_id).asc()],
            offset=0,
            limit=limit,
        )

    def _dialect(self) -> str:
        bind = self.session.bind
        return "postgresql" if bind is None else bind.dialect.name

    async def page(
        self,
        *,
        visibility: Visibility,
        wanted: RecordFilter,
        sort: Sort | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Record], int]:
        """Newest capture first, the record id breaking ties (so pages never overlap), unless
        ``sort`` asks for another order."""
        return await self._paged(
            visibility.records(),
            *wanted.conditions(self._dialect()),
            order_by=RECORD_SORTING.order_by(sort),
            offset=offset,
            limit=limit,
        )


ENTERPRISE_SORTING = Sorting(
    {"name": col(Enterprise.name), "credit_code": col(Enterprise.credit_code)},
    unique=col(Enterprise.id),
    default=[col(Enterprise.name), col(Enterprise.id)],
)


class EnterpriseRepository(Repository[Enterprise]):
    model = Enterprise

    async def all(self) -> Sequence[Enterprise]:
        return (await self.session.exec(select(Enterprise))).all()

    async def many(self, enterprise_ids: Collection[UUID]) -> list[Enterprise]:
        rows: list[Enterprise] = []
        for batch in _batches(enterprise_ids):
            query = select(Enterprise).where(col(Enterprise.id).in_(batch))
            rows += (await self.session.exec(query)).all()
        return rows

    async def by_credit_code(self, credit_code: str) -> Enterprise | None:
        query = select(Enterprise).where(col(Enterprise.credit_code) == credit_code)
        return (await self.session.exec(query)).first()

    async def by_external_id(self, external_id: str) -> Enterprise | None:
        query = select(Enterprise).where(col(Enterprise.external_id) == external_id)
        return (await self.session.exec(query)).first()

    async def search(
        self,
        text: str | None,
        *,
        region: str | None = None,
        industry: str | None = None,
        sort: Sort | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Enterprise], int]:
        """By a fragment of the name (Chinese too, any length) or the start of the credit code,
        and by region and industry (E-16); by name, then id, unless ``sort`` asks for another
        order."""
        conditions: list[ColumnElement[bool]] = []
        if region is not None:
            conditions.append(col(Enterprise.region) == region)
        if industry is not None:
            conditions.append(col(Enterprise.industry) == industry)
        if text:
            conditions.append(
                or_(
                    col(Enterprise.name).contains(text, autoescape=True),
                    col(Enterprise.credit_code).startswith(text.upper(), autoescape=True),
                )
            )
        return await self._paged(
            *conditions,
            order_by=ENTERPRISE_SORTING.order_by(sort),
            offset=offset,
            limit=limit,
        )


@dataclass(frozen=True)
class ActivityFilter:
    """What an activity search asks for; None means any."""

    section: str | None = None
    officer_id: str | None = None
    enterprise_id: UUID | None = None
    kind: ActivityKind | None = None
    type: ActivityType | None = None
    status: ActivityStatus | None = None
    case_number: str | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        wanted: list[ColumnElement[bool]] = []
        for column, value in (
            (Activity.section, self.section),
            (Activity.enterprise_id, self.enterprise_id),
            (Activity.kind, self.kind),
            (Activity.type, self.type),
            (Activity.status, self.status),
            (Activity.case_number, self.case_number),
        ):
            if value is not None:
                wanted.append(col(column) == value)
        if self.officer_id is not None:
            wanted.append(
                col(Activity.id).in_(
                    select(ActivityOfficer.activity_id).where(
                        col(ActivityOfficer.officer_id) == self.officer_id
                    )
                )
            )
        if self.started_from is not None:
            wanted.append(col(Activity.started_at) >= self.started_from)
        if self.started_to is not None:
            wanted.append(col(Activity.started_at) < self.started_to)
        return wanted


ACTIVITY_SORTING = Sorting(
    {
        "started_at": col(Activity.started_at),
        "matter": col(Activity.matter),
        "case_number": col(Activity.case_number),
        "section": col(Activity.section),
        "kind": col(Activity.kind),
        "type": col(Activity.type),
        "status": col(Activity.status),
    },
    unique=col(Activity.id),
    default=[col(Activity.started_at).desc(), col(Activity.id).asc()],
)


class ActivityRepository(Repository[Activity]):
    model = Activity

    async def many(self, activity_ids: Collection[UUID]) -> list[Activity]:
        rows: list[Activity] = []
        for batch in _batches(activity_ids):
            query = select(Activity).where(col(Activity.id).in_(batch))
            rows += (await self.session.exec(query)).all()
        return rows

    async def by_external_id(self, external_id: str) -> Activity | None:
        query = select(Activity).where(col(Activity.external_id) == external_id)
        return (await self.session.exec(query)).first()

    async def add(self, row: Activity) -> Activity:
        """Store the activity and make its officer rows match ``activity.officers``."""
        activity = await super().add(row)
        taking_part = select(ActivityOfficer).where(col(ActivityOfficer.activity_id) == activity.id)
        known = set()
        for part in (await self.session.exec(taking_part)).all():
            if part.officer_id in activity.officers:
                known.add(part.officer_id)
            else:
                await self.session.delete(part)
        for officer in dict.fromkeys(activity.officers):
            if officer not in known:
                self.session.add(ActivityOfficer(activity_id=activity.id, officer_id=officer))
        await self.session.flush()
        return activity

    async def matching(
        self, *, visibility: Visibility, wanted: ActivityFilter
    ) -> Sequence[Activity]:
        query = (
            select(Activity)
            .where(visibility.activities(), *wanted.conditions())
            .order_by(col(Activity.started_at), col(Activity.id))
        )
        return (await self.session.exec(query)).all()

    async def last_started(
        self, *, visibility: Visibility, types: Collection[ActivityType]
    ) -> dict[UUID, datetime]:
        """Per enterprise, when the latest activity of one of ``types`` started."""
        query = (
            select(col(Activity.enterprise_id), func.max(col(Activity.started_at)))
            .where(
                visibility.activities(),
                col(Activity.enterprise_id).is_not(None),
                col(Activity.type).in_(list(types)),
            )
            .group_by(col(Activity.enterprise_id))
        )
        return {
            enterprise_id: started
            for enterprise_id, started in (await self.session.exec(query)).all()
            if enterprise_id is not None
        }

    async def page(
        self,
        *,
        visibility: Visibility,
        wanted: ActivityFilter,
        sort: Sort | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[Activity], int]:
        """Latest start first, then id (so pages never overlap), unless ``sort`` asks for
        another order."""
        return await self._paged(
            visibility.activities(),
            *wanted.conditions(),
            order_by=ACTIVITY_SORTING.order_by(sort),
            offset=offset,
            limit=limit,
        )


class DutyRepository(Repository[RecordingDuty]):
    model = RecordingDuty

    async def all(self) -> Sequence[RecordingDuty]:
        return (await self.session.exec(select(RecordingDuty))).all()


class ExplanationRepository(Repository[Interruption | Exemption]):
    """Interruption explanations (D-10a) and exemptions (A-5), filed against activities (two
    tables: found by the methods below, not by ``get``)."""

    async def exemption(self, exemption_id: UUID) -> Exemption | None:
        return await self.session.get(Exemption, exemption_id)

    async def interruptions_of(self, activity_ids: Collection[UUID]) -> list[Interruption]:
        """In the order they were filed for each activity."""
        rows: list[Interruption] = []
        for batch in _batches(activity_ids):
            query = (
                select(Interruption)
                .where(col(Interruption.activity_id).in_(batch))
                .order_by(col(Interruption.stopped_at), col(Interruption.id))
            )
            rows += (await self.session.exec(query)).all()
        return rows

    async def exemptions_page(
        self,
        *,
        visibility: Visibility,
        pending: bool | None,
        section: str | None,
        offset: int,
        limit: int,
    ) -> tuple[Sequence[tuple[Exemption, Activity]], int]:
        """Exemptions with their activities, the longest waiting first; ``pending``: only those
        not yet acknowledged (true) or only those that are (false)."""
        conditions: list[ColumnElement[bool]] = [visibility.activities()]
        if pending is not None:
            acknowledged = col(Exemption.acknowledged_at)
            conditions.append(acknowledged.is_(None) if pending else acknowledged.is_not(None))
        if section is not None:
            conditions.append(col(Activity.section) == section)
        joined = select(Exemption, Activity).join(
            Activity, col(Activity.id) == col(Exemption.activity_id)
        )
        count = (
            select(func.count())
            .select_from(Exemption)
            .join(Activity, col(Activity.id) == col(Exemption.activity_id))
            .where(*conditions)
        )
        query = (
            joined.where(*conditions)
            .order_by(col(Exemption.filed_at), col(Exemption.id))
            .offset(offset)
            .limit(limit)
        )
        rows = [(exemption, activity) for exemption, activity in await self.session.exec(query)]
        return rows, (await self.session.exec(count)).one()

    async def exemptions_of(self, activity_ids: Collection[UUID]) -> list[Exemption]:
        rows: list[Exemption] = []
        for batch in _batches(activity_ids):
            query = (
                select(Exemption)
                .where(col(Exemption.activity_id).in_(batch))
                .order_by(col(Exemption.filed_at), col(Exemption.id))
            )
            rows += (await self.session.exec(query)).all()
        return rows


class IdempotencyRepository(Repository[IdempotencyKey]):
    """Keyed by (caller, key)."""

    model = IdempotencyKey


class StaffRepository(Repository[KnownSection | KnownOfficer]):
    """The registry's sections and officers, as the catalog was told them (two tables: found by
    :meth:`section` and :meth:`officer`, not by ``get``)."""

    async def section(self, code: str) -> KnownSection | None:
        return await self.session.get(KnownSection, code)

    async def officer(self, officer_id: str) -> KnownOfficer | None:
        return await self.session.get(KnownOfficer, officer_id)

    async def sections(self, codes: Collection[str]) -> dict[str, KnownSection]:
        # A bureau has a handful of sections: one statement holds them all.
        rows = await self.session.exec(
            select(KnownSection).where(col(KnownSection.code).in_(sorted(set(codes))))
        )
        return {section.code: section for section in rows}

    async def officers(self, ids: Collection[str]) -> dict[str, KnownOfficer]:
        found: dict[str, KnownOfficer] = {}
        listed = sorted(set(ids))
        for start in range(0, len(listed), _BATCH):
            rows = await self.session.exec(
                select(KnownOfficer).where(col(KnownOfficer.id).in_(listed[start : start + _BATCH]))
            )
            found.update((officer.id, officer) for officer in rows)
        return found


class AccessHistoryRepository(Repository[RecordAccess]):
    """Records' access histories. A history is read as entries: each row on its own, but a run
    of ``played`` rows (ranges served one after another, to one viewer under one request, with
    nothing else happening to the record between them) as one entry."""

    model = RecordAccess

    async def records_of_request(self, request_id: UUID) -> list[UUID]:
        """The records a request named, as its ``requested`` rows (or, had the catalog missed
        those, its ``granted`` rows) tell them."""
        query = (
            select(RecordAccess.record_id)
            .where(
                col(RecordAccess.request_id) == request_id,
                col(RecordAccess.what).in_([AccessEventKind.REQUESTED, AccessEventKind.GRANTED]),
            )
            .distinct()
        )
        return sorted((await self.session.exec(query)).all())

    async def registrar(self, request_id: UUID) -> str | None:
        """Who registered the request, as its ``requested`` rows tell it."""
        query = select(RecordAccess).where(
            col(RecordAccess.request_id) == request_id,
            col(RecordAccess.what) == AccessEventKind.REQUESTED,
        )
        row = (await self.session.exec(query.limit(1))).first()
        registered_by = None if row is None else row.detail.get("registered_by")
        return registered_by if isinstance(registered_by, str) else None

    async def many(self, ids: Collection[int]) -> list[RecordAccess]:
        """Rows by id (a page's: a few hundred at most)."""
        if not ids:
            return []
        query = select(RecordAccess).where(col(RecordAccess.id).in_(list(ids)))
        return list((await self.session.exec(query)).all())

    def _timeline(self, record_id: UUID) -> Subquery:
        """The record's rows, each with its run's number (``island``): a run is a stretch of
        rows of one kind, request and person with no other row of the record between them (the
        numbers of the rows in time, less their numbers among those of the same kind, request
        and person, is the same along a run and grows from one run to the next)."""
        order = (col(RecordAccess.at), col(RecordAccess.id))
        island = func.row_number().over(order_by=order) - func.row_number().over(
            partition_by=(
                col(RecordAccess.what),
                col(RecordAccess.request_id),
                col(RecordAccess.who),
            ),
            order_by=order,
        )
        return (
            core_select(
                col(RecordAccess.id),
                col(RecordAccess.what),
                col(RecordAccess.request_id),
                col(RecordAccess.who),
                col(RecordAccess.at),
                island.label("island"),
            )
            .where(col(RecordAccess.record_id) == record_id)
            .subquery("timeline")
        )

    async def entries(
        self, record_id: UUID, *, what: AccessEventKind | None, offset: int, limit: int
    ) -> tuple[list[list[RecordAccess]], int]:
        """One page of the record's history, the latest first (by its last row), and how many
        entries it has in all: each entry one row, or a run of ``played`` rows in the order
        they were served. ``what`` picks the entries of one kind (runs are cut on every row)."""
        timeline = self._timeline(record_id)
        folded = case(
            (timeline.c.what == AccessEventKind.PLAYED, timeline.c.island),
            else_=timeline.c.id,
        )
        grouped = core_select(
            func.min(timeline.c.id).label("first_id"),
            func.max(timeline.c.id).label("last_id"),
            func.max(timeline.c.at).label("last_at"),
            func.max(timeline.c.island).label("island"),
        )
        if what is not None:
            grouped = grouped.where(timeline.c.what == what)
        entries = grouped.group_by(
            timeline.c.what, timeline.c.request_id, timeline.c.who, folded
        ).subquery("entries")
        count = select(func.count()).select_from(entries)
        page = (
            select(entries.c.first_id, entries.c.island)
            .order_by(entries.c.last_at.desc(), entries.c.last_id.desc())
            .offset(offset)
            .limit(limit)
        )
        keys: list[tuple[int, int]] = [
            (first_id, island) for first_id, island in (await self.session.exec(page)).all()
        ]
        total = (await self.session.exec(count)).one()
        firsts = {row.id: row for row in await self.many([first_id for first_id, _ in keys])}
        runs = {
            (first.request_id, first.who, island): first
            for first_id, island in keys
            if (first := firsts[first_id]).what == AccessEventKind.PLAYED
        }
        played = await self._runs(timeline, list(runs))
        found: list[list[RecordAccess]] = []
        for first_id, island in keys:
            first = firsts[first_id]
            if first.what == AccessEventKind.PLAYED:
                found.append(played.get((first.request_id, first.who, island), [first]))
            else:
                found.append([first])
        return found, total

    async def _runs(
        self, timeline: Subquery, runs: Collection[tuple[UUID | None, str, int]]
    ) -> dict[tuple[UUID | None, str, int], list[RecordAccess]]:
        """The ``played`` rows of the runs (request, viewer, island), in the order served."""
        if not runs:
            return {}
        query = (
            select(RecordAccess, timeline.c.island)
            .join(timeline, timeline.c.id == col(RecordAccess.id))
            .where(
                timeline.c.what == AccessEventKind.PLAYED,
                or_(
                    *(
                        and_(
                            timeline.c.request_id == request_id,
                            timeline.c.who == who,
                            timeline.c.island == island,
                        )
                        for request_id, who, island in runs
                    )
                ),
            )
            .order_by(col(RecordAccess.at), col(RecordAccess.id))
        )
        found: dict[tuple[UUID | None, str, int], list[RecordAccess]] = {}
        for row, island in (await self.session.exec(query)).all():
            found.setdefault((row.request_id, row.who, island), []).append(row)
        return found
