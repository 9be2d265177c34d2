"""Accompanied viewing (C-9): sessions, the playback tickets issued in them and the ranges
served under each.

Revision ID: g0003
Revises: g0002
"""

import sqlalchemy as sa
from alembic import op

revision = "g0003"
down_revision = "g0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "viewing_sessions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "request_id", sa.Uuid, sa.ForeignKey("access_requests.id"), nullable=False, index=True
        ),
        sa.Column("viewer", sa.String(128), nullable=False),
        sa.Column("accompanied_by", sa.String(128), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("closed_by", sa.String(128), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verification", sa.String(32), nullable=True),
        sa.Column("verified", sa.JSON, nullable=False),
    )
    op.create_table(
        "playback_tickets",
        sa.Column("ticket_hash", sa.String(64), primary_key=True),
        sa.Column("cookie_hash", sa.String(64), nullable=False),
        sa.Column(
            "request_id", sa.Uuid, sa.ForeignKey("access_requests.id"), nullable=False, index=True
        ),
        sa.Column("record_id", sa.Uuid, nullable=False),
        sa.Column(
            "session_id", sa.Uuid, sa.ForeignKey("viewing_sessions.id"), nullable=True, index=True
        ),
        sa.Column("viewer", sa.String(128), nullable=False),
        sa.Column("issued_by", sa.String(128), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "playback_ranges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "ticket_hash",
            sa.String(64),
            sa.ForeignKey("playback_tickets.ticket_hash"),
            nullable=False,
            index=True,
        ),
        sa.Column("record_id", sa.Uuid, nullable=False),
        sa.Column("first_byte", sa.BigInteger, nullable=False),
        sa.Column("last_byte", sa.BigInteger, nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("playback_ranges")
    op.drop_table("playback_tickets")
    op.drop_table("viewing_sessions")
