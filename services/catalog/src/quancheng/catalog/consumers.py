"""Events the catalog listens to: ingest's, for every stored original and derived item. An upload
names its activity by the catalog's id or the platform's; one not known yet is kept as a claim
and honoured when that activity appears."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.models import Record
from quancheng.catalog.repository import RecordRepository
from quancheng.catalog.service.activities import resolve_claim
from quancheng.catalog.service.records import reindex
from quancheng.common.events import Consumers, RecordingIngested


async def on_recording_ingested(session: AsyncSession, event: RecordingIngested) -> None:
    repository = RecordRepository(session)
    if await repository.get(event.record_id) is not None:
        return  # announced again (at-least-once delivery): the record stands
    activity = (
        None if event.activity_id is None else await resolve_claim(session, event.activity_id)
    )
    record = Record(
        record_id=event.record_id,
        upload_id=event.upload_id,
        object_key=event.object_key,
        sha256=event.sha256,
        sm3=event.sm3,
        size=event.size,
        filename=event.filename,
        kind=event.kind,
        device_id=event.device_id,
        officer_id=event.officer_id,
        activity_id=None if activity is None else str(activity.id),
        activity_ref=event.activity_id if activity is None else None,
        section=event.section,
        captured_at=event.captured_at,
        captured_until=event.captured_until,
        clock_drift_seconds=event.clock_drift_seconds,
        deadline_missed=event.deadline_missed,
        party_informed=event.party_informed,
        source_record_id=event.source_record_id,
        source_range=event.source_range,
        scan_ppi=event.scan_ppi,
        flag=event.flag,
        ingested_at=event.occurred_at,
    )
    await repository.add(record)
    await reindex(session, [record])


def register(consumers: Consumers) -> None:
    consumers.on(RecordingIngested, on_recording_ingested)
