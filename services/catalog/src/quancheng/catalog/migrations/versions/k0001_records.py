"""Records: every stored original and derived item, as ingest announced it.

Revision ID: k0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "k0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("record_id", sa.Uuid, primary_key=True),
        sa.Column("upload_id", sa.String(32), nullable=False),
        sa.Column("object_key", sa.String(512), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("sm3", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column("device_id", sa.String(64), nullable=False, index=True),
        sa.Column("officer_id", sa.String(128), nullable=False, index=True),
        sa.Column("activity_id", sa.String(128), nullable=True, index=True),
        sa.Column("section", sa.String(32), nullable=True, index=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("captured_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clock_drift_seconds", sa.Float, nullable=True),
        sa.Column("deadline_missed", sa.Boolean, nullable=False),
        sa.Column("party_informed", sa.Boolean, nullable=True),
        sa.Column("source_record_id", sa.Uuid, nullable=True, index=True),
        sa.Column("source_range", sa.String(128), nullable=True),
        sa.Column("scan_ppi", sa.Integer, nullable=True),
        sa.Column("flag", sa.String(500), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("records")
