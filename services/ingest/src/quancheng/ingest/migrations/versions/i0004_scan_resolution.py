"""Scans (E-5): the bytes their resolution is read from, the resolution, and the flag it raises.

Revision ID: i0004
Revises: i0003
"""

import sqlalchemy as sa
from alembic import op

revision = "i0004"
down_revision = "i0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("scan_head", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("scan_end", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("scan_ppi", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("flag", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        for column in ("flag", "scan_ppi", "scan_end", "scan_head"):
            batch.drop_column(column)
