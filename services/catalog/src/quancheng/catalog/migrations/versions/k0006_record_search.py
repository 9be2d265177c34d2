"""Record search: the activity's facts copied onto its records, and their text indexed for
Chinese (PostgreSQL pg_trgm; SQLite FTS5 with the trigram tokenizer).

Revision ID: k0006
Revises: k0005
"""

import sqlalchemy as sa
from alembic import op

revision = "k0006"
down_revision = "k0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("enterprise_id", sa.Uuid, nullable=True))
        batch.add_column(sa.Column("activity_kind", sa.String(32), nullable=True))
        batch.add_column(sa.Column("activity_type", sa.String(32), nullable=True))
        batch.add_column(sa.Column("search_text", sa.Text, nullable=False, server_default=""))
        batch.create_index("ix_records_enterprise_id", ["enterprise_id"])
        batch.create_index("ix_records_activity_kind", ["activity_kind"])
        batch.create_index("ix_records_activity_type", ["activity_type"])
    # Records linked before this revision get their activity's facts on their next change;
    # until then they are found by their file name and what they prove.
    op.execute("UPDATE records SET search_text = filename || ' ' || COALESCE(proves, '')")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_records_search_trgm ON records USING gin (search_text gin_trgm_ops)"
        )
        return
    # SQLite: an FTS5 table kept in step by triggers. A later batch_alter_table of records
    # rebuilds that table and drops the triggers: such a revision must create them again.
    op.execute(
        "CREATE VIRTUAL TABLE records_fts USING fts5("
        "record_id UNINDEXED, search_text, tokenize='trigram')"
    )
    op.execute(
        "INSERT INTO records_fts (record_id, search_text)"
        " SELECT record_id, search_text FROM records"
    )
    op.execute(
        "CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN "
        "INSERT INTO records_fts (record_id, search_text)"
        " VALUES (new.record_id, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER records_fts_update AFTER UPDATE OF search_text ON records BEGIN "
        "UPDATE records_fts SET search_text = new.search_text WHERE record_id = new.record_id; END"
    )
    op.execute(
        "CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN "
        "DELETE FROM records_fts WHERE record_id = old.record_id; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_records_search_trgm")
    else:
        for trigger in ("records_fts_insert", "records_fts_update", "records_fts_delete"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE records_fts")
    with op.batch_alter_table("records") as batch:
        for index in (
            "ix_records_activity_type",
            "ix_records_activity_kind",
            "ix_records_enterprise_id",
        ):
            batch.drop_index(index)
        for column in ("search_text", "activity_type", "activity_kind", "enterprise_id"):
            batch.drop_column(column)
