"""Archival fields (C-4), secrecy and privacy (B-11), and archiving (B-7).

Revision ID: k0005
Revises: k0004
"""

import sqlalchemy as sa
from alembic import op

revision = "k0005"
down_revision = "k0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("handling_section", sa.String(32), nullable=True))
        batch.add_column(sa.Column("producer", sa.String(128), nullable=True))
        batch.add_column(sa.Column("production_time", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("proves", sa.Text, nullable=True))
        batch.add_column(
            sa.Column("secrecy", sa.String(32), nullable=False, server_default="internal")
        )
        batch.add_column(
            sa.Column("privacy_flags", sa.JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_records_secrecy", ["secrecy"])
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("archived_by", sa.String(128), nullable=True))
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("archived_at")
        batch.drop_column("archived_by")
    with op.batch_alter_table("records") as batch:
        batch.drop_index("ix_records_secrecy")
        for column in (
            "archived_at",
            "privacy_flags",
            "secrecy",
            "proves",
            "production_time",
            "producer",
            "handling_section",
        ):
            batch.drop_column(column)
