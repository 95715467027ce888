"""message search: an index for the inbox's "search by text"

SQLite: an FTS5 table with the trigram tokenizer over message.body (external content, kept
in step by triggers). A trigram index answers `LIKE '%words%'` (3 characters or more) from
the index, so the search keeps its meaning — any part of a message — without a table scan.
PostgreSQL: a pg_trgm GIN index on lower(body), which the planner uses for the same LIKE.
Where pg_trgm cannot be installed (no rights), the search still works, without the index.

Careful: a later migration that rebuilds the message table on SQLite (batch "move and copy")
drops these triggers; it must create them again (tests/web/test_message_search.py checks).

Revision ID: 0010_message_search
Revises: 0009_job_claim
"""
import logging

from alembic import op
import sqlalchemy as sa

revision = "0010_message_search"
down_revision = "0009_job_claim"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

SQLITE_TRIGGERS = {
    "message_search_ai": "AFTER INSERT ON message BEGIN "
                         "INSERT INTO message_search(rowid, body) VALUES (new.id, new.body); END",
    "message_search_ad": "AFTER DELETE ON message BEGIN "
                         "INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.id, old.body); END",
    "message_search_au": "AFTER UPDATE OF body ON message BEGIN "
                         "INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.id, old.body); "
                         "INSERT INTO message_search(rowid, body) VALUES (new.id, new.body); END",
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE message_search USING fts5("
                   "body, content='message', content_rowid='id', tokenize='trigram')")
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
        op.execute("INSERT INTO message_search(message_search) VALUES ('rebuild')")
    elif bind.dialect.name == "postgresql":
        savepoint = bind.begin_nested()
        try:
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            savepoint.commit()
        except sa.exc.DBAPIError as exc:
            savepoint.rollback()
            log.warning("pg_trgm is not available (%s): the inbox searches message text without an index",
                        exc.orig)
            return
        op.execute("CREATE INDEX ix_message_body_trgm ON message USING gin (lower(body) gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS message_search")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_message_body_trgm")
