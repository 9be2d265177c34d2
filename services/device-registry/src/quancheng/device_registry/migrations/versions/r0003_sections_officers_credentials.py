"""Sections and officers (A-6a, A-7), docking stations, upload credentials, clock readings (A-8).

Devices registered before sections existed keep their section: a section named by its code is
made for each, so that devices.section can become a foreign key.

Revision ID: r0003
Revises: r0002
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "r0003"
down_revision = "r0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sections = op.create_table(
        "sections",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("supervisory", sa.Boolean, nullable=False),
        sa.Column("head_officer_id", sa.String(128), nullable=True),
        sa.Column("custodian_officer_id", sa.String(128), nullable=True),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    existing = op.get_bind().execute(sa.text("SELECT DISTINCT section FROM devices")).scalars()
    now = datetime.now(UTC)
    op.bulk_insert(
        sections,
        [
            {
                "code": code,
                "name": code,
                "supervisory": False,
                "updated_by": "migration r0003",
                "updated_at": now,
            }
            for code in existing
        ],
    )
    with op.batch_alter_table("devices") as batch:
        batch.create_foreign_key("fk_devices_section", "sections", ["section"], ["code"])
    op.create_table(
        "officers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("certificate_number", sa.String(32), nullable=True, unique=True),
        sa.Column(
            "section", sa.String(32), sa.ForeignKey("sections.code"), nullable=False, index=True
        ),
        sa.Column("frontline", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "docking_stations",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("serial_number", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "section", sa.String(32), sa.ForeignKey("sections.code"), nullable=False, index=True
        ),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("registered_by", sa.String(128), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "upload_clients",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("device_id", sa.Uuid, sa.ForeignKey("devices.id"), nullable=True, index=True),
        sa.Column(
            "station_id",
            sa.Uuid,
            sa.ForeignKey("docking_stations.id"),
            nullable=True,
            index=True,
        ),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(128), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.String(200), nullable=True),
    )
    op.create_table(
        "clock_readings",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("device_id", sa.Uuid, sa.ForeignKey("devices.id"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drift_seconds", sa.Float, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.UniqueConstraint("source", "source_id", name="uq_clock_readings_source"),
    )


def downgrade() -> None:
    op.drop_table("clock_readings")
    op.drop_table("upload_clients")
    op.drop_table("docking_stations")
    op.drop_table("officers")
    with op.batch_alter_table("devices") as batch:
        batch.drop_constraint("fk_devices_section", type_="foreignkey")
    op.drop_table("sections")
