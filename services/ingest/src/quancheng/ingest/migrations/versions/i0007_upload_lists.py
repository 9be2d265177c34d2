"""Indexes for the lists of uploads: an officer's, a section's, the caller's, newest first.

Revision ID: i0007
Revises: i0006
"""

from alembic import op

revision = "i0007"
down_revision = "i0006"
branch_labels = None
depends_on = None

_COLUMNS = ("officer_id", "section", "created_by", "created_at")


def upgrade() -> None:
    for column in _COLUMNS:
        op.create_index(f"ix_uploads_{column}", "uploads", [column])


def downgrade() -> None:
    for column in _COLUMNS:
        op.drop_index(f"ix_uploads_{column}", table_name="uploads")
