"""Enforcement activities (A-4, B-2) and records' unresolved activity references.

Revision ID: k0003
Revises: k0002
"""

import sqlalchemy as sa
from alembic import op

revision = "k0003"
down_revision = "k0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("type", sa.String(32), nullable=False, index=True),
        sa.Column("matter", sa.String(200), nullable=False),
        sa.Column("case_number", sa.String(64), nullable=True, index=True),
        sa.Column("enterprise_id", sa.Uuid, nullable=True, index=True),
        sa.Column("section", sa.String(32), nullable=False, index=True),
        sa.Column("officers", sa.JSON, nullable=False),
        sa.Column("place", sa.String(300), nullable=True),
        sa.Column("region", sa.String(64), nullable=True, index=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("external_id", sa.String(128), nullable=True, unique=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "activity_officers",
        sa.Column("activity_id", sa.Uuid, sa.ForeignKey("activities.id"), primary_key=True),
        sa.Column("officer_id", sa.String(128), primary_key=True, index=True),
    )
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("activity_ref", sa.String(128), nullable=True))
        batch.create_index("ix_records_activity_ref", ["activity_ref"])
    # Until now a record kept whatever activity its upload named; no activity existed in the
    # catalog, so each of those is a claim, honoured when that activity appears.
    op.execute(
        "UPDATE records SET activity_ref = activity_id, activity_id = NULL"
        " WHERE activity_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("UPDATE records SET activity_id = activity_ref WHERE activity_ref IS NOT NULL")
    with op.batch_alter_table("records") as batch:
        batch.drop_index("ix_records_activity_ref")
        batch.drop_column("activity_ref")
    op.drop_table("activity_officers")
    op.drop_table("activities")
