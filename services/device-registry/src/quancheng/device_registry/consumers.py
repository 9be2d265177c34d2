"""Events the registry listens to: ingest's, for the device clock drift measured at upload."""

from __future__ import annotations

from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.common.events import Consumers, RecordingIngested
from quancheng.device_registry.service import devices


async def on_recording_ingested(session: AsyncSession, event: RecordingIngested) -> None:
    if event.clock_drift_seconds is None:
        return
    try:
        device_id = UUID(event.device_id)
    except ValueError:
        return  # not one of the registry's device ids; ingest refuses those, nothing to keep
    await devices.record_upload_clock(
        session, device_id, event.record_id, event.occurred_at, event.clock_drift_seconds
    )


def register(consumers: Consumers) -> None:
    consumers.on(RecordingIngested, on_recording_ingested)
