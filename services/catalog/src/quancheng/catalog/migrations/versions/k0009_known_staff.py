"""The registry's sections and officers as the catalog is told them (the ``staff`` stream):
activities name only active officers of their section, and a section's head acts only if the
registry names them so.

Revision ID: k0009
Revises: k0008
"""

import sqlalchemy as sa
from alembic import op

revision = "k0009"
down_revision = "k0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_sections",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("head_officer_id", sa.String(128), nullable=True),
        sa.Column("custodian_officer_id", sa.String(128), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "known_officers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("section", sa.String(32), nullable=False, index=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("known_officers")
    op.drop_table("known_sections")
