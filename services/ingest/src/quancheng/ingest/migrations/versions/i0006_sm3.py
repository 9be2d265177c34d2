"""SM3 alongside SHA-256, when the bureau turns it on: its running state and the result.

Revision ID: i0006
Revises: i0005
"""

import sqlalchemy as sa
from alembic import op

revision = "i0006"
down_revision = "i0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("sm3_state", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("sm3", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("sm3")
        batch.drop_column("sm3_state")
