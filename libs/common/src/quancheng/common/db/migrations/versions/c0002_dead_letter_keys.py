"""Dead letters found by consumer and aggregate key: a later event of an aggregate with a dead
letter waits beside it instead of being handled out of order.

Revision ID: c0002
Revises: c0001
"""

from alembic import op

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dead_letters_consumer_key", "dead_letters", ["consumer", "key"])


def downgrade() -> None:
    op.drop_index("ix_dead_letters_consumer_key", table_name="dead_letters")
