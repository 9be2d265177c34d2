from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from quancheng.common.db.repository import Repository
from quancheng.common.sorting import Sort, Sorting
from quancheng.ingest.models import Concat, KnownDevice, Original, Upload, UploadStatus


class KnownDeviceRepository(Repository[KnownDevice]):
    model = KnownDevice


UPLOAD_SORTING = Sorting(
    {
        "created_at": col(Upload.created_at),
        "status": col(Upload.status),
        "officer_id": col(Upload.officer_id),
        "section": col(Upload.section),
        "length": col(Upload.length),
    },
    unique=col(Upload.id),
    default=[col(Upload.created_at).desc(), col(Upload.id)],
)


class UploadRepository(Repository[Upload]):
    model = Upload

    async def get(self, upload_id: str) -> Upload | None:
        result = await self.session.exec(
            select(Upload).where(Upload.id == upload_id).execution_options(populate_existing=True)
        )
        return result.first()

    async def page(
        self, *conditions: ColumnElement[bool], sort: Sort | None, offset: int, limit: int
    ) -> tuple[Sequence[Upload], int]:
        """Whole uploads (never the parts of a concatenation), the newest first unless ``sort``
        asks for another order."""
        return await self._paged(
            col(Upload.concat).is_distinct_from(Concat.PARTIAL),
            *conditions,
            order_by=UPLOAD_SORTING.order_by(sort),
            offset=offset,
            limit=limit,
        )

    async def expired(self, now: datetime, *, limit: int) -> Sequence[str]:
        """Ids of unfinished uploads whose time ran out."""
        query = (
            select(Upload.id)
            .where(Upload.status == UploadStatus.RECEIVING, col(Upload.expires_at) < now)
            .order_by(col(Upload.expires_at))
            .limit(limit)
        )
        return (await self.session.exec(query)).all()

    async def assembling(self, *, limit: int) -> Sequence[str]:
        """Ids of final uploads not yet assembled from their partials (tus concatenation)."""
        query = (
            select(Upload.id)
            .where(Upload.status == UploadStatus.RECEIVING, Upload.concat == Concat.FINAL)
            .limit(limit)
        )
        return (await self.session.exec(query)).all()

    async def spent_partials(self, before: datetime, *, limit: int) -> Sequence[str]:
        """Ids of stored partial uploads finished before ``before``: their objects can go."""
        query = (
            select(Upload.id)
            .where(
                Upload.status == UploadStatus.COMPLETE,
                Upload.concat == Concat.PARTIAL,
                col(Upload.finished_at) < before,
            )
            .limit(limit)
        )
        return (await self.session.exec(query)).all()

    async def finishing(self, *, limit: int) -> Sequence[str]:
        """Ids of uploads left between their last bytes and their original (by a crash)."""
        query = select(Upload.id).where(Upload.status == UploadStatus.FINISHING).limit(limit)
        return (await self.session.exec(query)).all()


class OriginalRepository(Repository[Original]):
    model = Original

    async def of_content(self, device_id: UUID, sha256: str) -> Original | None:
        query = select(Original).where(Original.device_id == device_id, Original.sha256 == sha256)
        return (await self.session.exec(query)).first()
