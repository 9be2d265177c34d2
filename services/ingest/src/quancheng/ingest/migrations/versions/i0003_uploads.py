"""Uploads (tus) and the originals they became.

Revision ID: i0003
Revises: i0002
"""

import sqlalchemy as sa
from alembic import op

revision = "i0003"
down_revision = "i0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("length", sa.BigInteger, nullable=True),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("metadata_raw", sa.Text, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("device_id", sa.Uuid, nullable=False),
        sa.Column("officer_id", sa.String(128), nullable=False),
        sa.Column("section", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("object_key", sa.String(512), nullable=False),
        sa.Column("multipart_id", sa.String(256), nullable=True),
        sa.Column("parts", sa.JSON, nullable=False),
        sa.Column("tail", sa.LargeBinary, nullable=False),
        sa.Column("sha256_state", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("record_id", sa.Uuid, nullable=True),
        sa.Column("rejection", sa.String(500), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "originals",
        sa.Column("record_id", sa.Uuid, primary_key=True),
        sa.Column("upload_id", sa.String(32), nullable=False, index=True),
        sa.Column("device_id", sa.Uuid, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("object_key", sa.String(512), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("device_id", "sha256", name="uq_originals_device_sha256"),
    )


def downgrade() -> None:
    op.drop_table("originals")
    op.drop_table("uploads")
