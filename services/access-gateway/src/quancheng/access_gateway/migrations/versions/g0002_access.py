"""The access (调阅) workflow: requests, the records they name, their documents, the section
heads' approvals and every move; and the registry's sections, whose heads approve.

Revision ID: g0002
Revises: g0001
"""

import sqlalchemy as sa
from alembic import op

revision = "g0002"
down_revision = "g0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("requester_kind", sa.String(32), nullable=False, index=True),
        sa.Column("requester_account", sa.String(128), nullable=True, index=True),
        sa.Column("requester_name", sa.String(128), nullable=False),
        sa.Column("requester_unit", sa.String(200), nullable=True),
        sa.Column("requester_id_number", sa.String(64), nullable=True),
        sa.Column("requester_contact", sa.String(64), nullable=True),
        sa.Column("clearance", sa.String(32), nullable=False),
        sa.Column("registered_by", sa.String(128), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=True),
        sa.Column("access", sa.String(32), nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("scope", sa.JSON, nullable=False),
        sa.Column("sections", sa.JSON, nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "access_items",
        sa.Column("request_id", sa.Uuid, sa.ForeignKey("access_requests.id"), primary_key=True),
        sa.Column("record_id", sa.Uuid, primary_key=True, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(512), nullable=False),
        sa.Column("handling_section", sa.String(32), nullable=True),
        sa.Column("secrecy", sa.String(32), nullable=False),
        sa.Column("privacy_flags", sa.JSON, nullable=False),
        sa.Column("case_number", sa.String(64), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("granted", sa.Boolean, nullable=False),
    )
    op.create_table(
        "access_documents",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column(
            "request_id", sa.Uuid, sa.ForeignKey("access_requests.id"), nullable=False, index=True
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(512), nullable=False),
        sa.Column("uploaded_by", sa.String(128), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "access_approvals",
        sa.Column("request_id", sa.Uuid, sa.ForeignKey("access_requests.id"), primary_key=True),
        sa.Column("section", sa.String(32), primary_key=True, index=True),
        sa.Column("decision", sa.String(32), nullable=True),
        sa.Column("opinion", sa.Text, nullable=True),
        sa.Column("include_flagged", sa.Boolean, nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "access_transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "request_id", sa.Uuid, sa.ForeignKey("access_requests.id"), nullable=False, index=True
        ),
        sa.Column("from_status", sa.String(32), nullable=True),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_table(
        "section_heads",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("head_officer_id", sa.String(128), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "section_heads",
        "access_transitions",
        "access_approvals",
        "access_documents",
        "access_items",
        "access_requests",
    ):
        op.drop_table(table)
