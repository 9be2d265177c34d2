"""What an activity found (E-15); an enterprise's hazardous equipment and other supervision
information (E-2).

Revision ID: k0007
Revises: k0006
"""

import sqlalchemy as sa
from alembic import op

revision = "k0007"
down_revision = "k0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTERs, not batch mode: a batch copy of records would drop k0006's FTS triggers.
    op.add_column(
        "activities",
        sa.Column("hidden_dangers_found", sa.Integer, nullable=False, server_default="0"),
    )
    op.add_column(
        "activities",
        sa.Column("violations_found", sa.Integer, nullable=False, server_default="0"),
    )
    op.add_column(
        "enterprises",
        sa.Column("supervision", sa.JSON, nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column(
        "enterprises",
        sa.Column("hazardous_equipment", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_column("hazardous_equipment")
        batch.drop_column("supervision")
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("violations_found")
        batch.drop_column("hidden_dangers_found")
