"""tus concatenation: partial uploads, and final uploads assembled from them.

Revision ID: i0005
Revises: i0004
"""

import sqlalchemy as sa
from alembic import op

revision = "i0005"
down_revision = "i0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("concat", sa.String(8), nullable=True))
        batch.add_column(sa.Column("partials", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("partials")
        batch.drop_column("concat")
