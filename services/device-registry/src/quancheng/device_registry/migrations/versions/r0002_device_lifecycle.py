"""Device life cycle: the current holder, and each device's history (A-6a, D-7, A-8, D-8).

Revision ID: r0002
Revises: r0001
"""

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("officer_id", sa.String(128), nullable=True))
        batch.create_index("ix_devices_officer_id", ["officer_id"])
    op.create_table(
        "device_events",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("device_id", sa.Uuid, sa.ForeignKey("devices.id"), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=True),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("officer_id", sa.String(128), nullable=True),
        sa.Column("pre_use_check", sa.JSON, nullable=True),
        sa.Column("failed_checks", sa.JSON, nullable=True),
        sa.UniqueConstraint("device_id", "seq", name="uq_device_events_device_seq"),
    )


def downgrade() -> None:
    op.drop_table("device_events")
    with op.batch_alter_table("devices") as batch:
        batch.drop_index("ix_devices_officer_id")
        batch.drop_column("officer_id")
