"""Recording duties (A-10, B-4), interruption explanations (D-10a) and exemptions (A-5).

Revision ID: k0004
Revises: k0003
"""

import sqlalchemy as sa
from alembic import op

revision = "k0004"
down_revision = "k0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recording_duties",
        sa.Column("type", sa.String(32), primary_key=True),
        sa.Column("duty", sa.String(32), nullable=False),
        sa.Column("key_stages", sa.JSON, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "interruptions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "activity_id", sa.Uuid, sa.ForeignKey("activities.id"), nullable=False, index=True
        ),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("written_report", sa.Text, nullable=True),
        sa.Column("filed_by", sa.String(128), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "exemptions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "activity_id", sa.Uuid, sa.ForeignKey("activities.id"), nullable=False, index=True
        ),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("work_record", sa.Text, nullable=False),
        sa.Column("filed_by", sa.String(128), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("exemptions")
    op.drop_table("interruptions")
    op.drop_table("recording_duties")
