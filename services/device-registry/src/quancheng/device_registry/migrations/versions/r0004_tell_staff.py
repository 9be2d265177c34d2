"""Tell the staff the registry already has: from this revision on, every change of a section or
an officer is told on the ``staff`` stream; the sections and officers made before are queued in
the outbox once (``section.changed``, ``officer.registered``), so that the catalog learns them too.

Revision ID: r0004
Revises: r0003
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from quancheng.common.events import Event, OfficerRegistered, SectionChanged, encode

revision = "r0004"
down_revision = "r0003"
branch_labels = None
depends_on = None

BY = "migration r0004"


def upgrade() -> None:
    bind = op.get_bind()
    events: list[Event] = [
        SectionChanged(
            code=row.code,
            name=row.name,
            supervisory=bool(row.supervisory),
            head_officer_id=row.head_officer_id,
            custodian_officer_id=row.custodian_officer_id,
            by=BY,
        )
        for row in bind.execute(
            sa.text(
                "SELECT code, name, supervisory, head_officer_id, custodian_officer_id"
                " FROM sections ORDER BY code"
            )
        )
    ]
    events += [
        OfficerRegistered(
            officer_id=row.id,
            name=row.name,
            section=row.section,
            frontline=bool(row.frontline),
            active=bool(row.active),
            by=BY,
        )
        for row in bind.execute(
            sa.text("SELECT id, name, section, frontline, active FROM officers ORDER BY id")
        )
    ]
    outbox = sa.table(
        "outbox",
        sa.column("event_id", sa.String),
        sa.column("event_type", sa.String),
        sa.column("version", sa.Integer),
        sa.column("topic", sa.String),
        sa.column("key", sa.String),
        sa.column("payload", sa.Text),
        sa.column("headers", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = []
    for event in events:
        message = encode(event, {})
        rows.append(
            {
                "event_id": str(event.event_id),
                "event_type": event.event_type,
                "version": event.version,
                "topic": message.topic,
                "key": message.key,
                "payload": message.value.decode(),
                "headers": json.dumps(message.headers),
                "created_at": now,
            }
        )
    if rows:
        op.bulk_insert(outbox, rows)


def downgrade() -> None:
    pass  # what was told stays told
