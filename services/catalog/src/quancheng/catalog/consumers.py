"""Events the catalog listens to: ingest's, for every stored original and derived item. An upload
names its activity by the catalog's id or the platform's; one not known yet is kept as a claim
and honoured when that activity appears.

And the registry's staff stream: each section and officer as it now is, so that an activity
names only active officers of its section and a section's head is the one the registry names.

And the gateway's access workflow (the ``access`` stream), its looks at records and its alarms of
altered ones: each record's access history (C-9)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from quancheng.catalog.models import KnownOfficer, KnownSection, Record
from quancheng.catalog.repository import RecordRepository, StaffRepository
from quancheng.catalog.service import access_history
from quancheng.catalog.service.activities import resolve_claim
from quancheng.catalog.service.records import reindex
from quancheng.common.events import (
    AccessEnded,
    AccessGranted,
    AccessRejected,
    AccessRequested,
    AccessViewed,
    Consumers,
    FixityFailed,
    OfficerChanged,
    OfficerRegistered,
    RecordingIngested,
    SectionChanged,
)


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


async def on_section_changed(session: AsyncSession, event: SectionChanged) -> None:
    repository = StaffRepository(session)
    section = await repository.section(event.code)
    if section is not None and section.updated_at > event.occurred_at:
        return  # told later already (the stream keeps one section's events in order anyway)
    section = section or KnownSection(
        code=event.code, name=event.name, updated_at=event.occurred_at
    )
    section.name = event.name
    section.head_officer_id = event.head_officer_id
    section.custodian_officer_id = event.custodian_officer_id
    section.updated_at = event.occurred_at
    await repository.add(section)


async def on_officer(session: AsyncSession, event: OfficerRegistered | OfficerChanged) -> None:
    repository = StaffRepository(session)
    officer = await repository.officer(event.officer_id)
    if officer is not None and officer.updated_at > event.occurred_at:
        return
    officer = officer or KnownOfficer(
        id=event.officer_id, name=event.name, section=event.section, updated_at=event.occurred_at
    )
    officer.name, officer.section, officer.active = event.name, event.section, event.active
    officer.updated_at = event.occurred_at
    await repository.add(officer)


def register(consumers: Consumers) -> None:
    consumers.on(RecordingIngested, on_recording_ingested)
    consumers.on(SectionChanged, on_section_changed)
    consumers.on(OfficerRegistered, on_officer)
    consumers.on(OfficerChanged, on_officer)
    # Each delivered once in effect: the framework records the event ids it handled.
    consumers.on(AccessRequested, access_history.requested)
    consumers.on(AccessGranted, access_history.granted)
    consumers.on(AccessRejected, access_history.rejected)
    consumers.on(AccessEnded, access_history.ended)
    consumers.on(AccessViewed, access_history.viewed)
    consumers.on(FixityFailed, access_history.altered)
