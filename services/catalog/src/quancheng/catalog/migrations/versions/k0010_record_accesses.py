"""Each record's access history (C-9), from the gateway's ``access`` stream, its looks and
playbacks, and the alarm of a record found altered.

Revision ID: k0010
Revises: k0009
"""

import sqlalchemy as sa
from alembic import op

revision = "k0010"
down_revision = "k0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_accesses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.Uuid, nullable=False, index=True),
        sa.Column("request_id", sa.Uuid, nullable=True, index=True),
        sa.Column("what", sa.String(32), nullable=False),
        sa.Column("who", sa.String(256), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("record_accesses")
