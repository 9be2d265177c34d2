"""Officer ids are accounts of up to 128 characters, as in the device registry.

Revision ID: i0002
Revises: i0001
"""

import sqlalchemy as sa
from alembic import op

revision = "i0002"
down_revision = "i0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("known_devices") as batch:
        batch.alter_column(
            "officer_id", type_=sa.String(128), existing_type=sa.String(64), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("known_devices") as batch:
        batch.alter_column(
            "officer_id", type_=sa.String(64), existing_type=sa.String(128), existing_nullable=True
        )
