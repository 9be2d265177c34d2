"""Enterprises (一企一档, E-3/E-16).

Revision ID: k0002
Revises: k0001
"""

import sqlalchemy as sa
from alembic import op

revision = "k0002"
down_revision = "k0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, index=True),
        sa.Column("credit_code", sa.String(18), nullable=False, unique=True),
        sa.Column("legal_representative", sa.String(64), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("contact", sa.String(64), nullable=True),
        sa.Column("industry", sa.String(64), nullable=True),
        sa.Column("region", sa.String(64), nullable=True, index=True),
        sa.Column("hazardous_processes", sa.JSON, nullable=False),
        sa.Column("major_hazard_sources", sa.JSON, nullable=False),
        sa.Column("risk", sa.JSON, nullable=False),
        sa.Column("external_id", sa.String(128), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("enterprises")
