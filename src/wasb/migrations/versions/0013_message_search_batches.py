"""message search in batches (SQLite): new messages are indexed in batches, not one by one

The AFTER INSERT trigger of 0010_message_search put each message into the FTS5 trigram
index inside the transaction that wrote it: the inbound worker paid the index's work for
every message. Now `message_search_mark.indexed_to` is the highest message id the index
holds; the rows above it are indexed in batches (`wasb.conversations.search.index_new`),
and the search reads them with a LIKE meanwhile (they are few: the newest). The update
and delete triggers only touch rows the index holds: an external-content FTS5 table must
never be told to delete a row it does not have. A deleted row above the rest lowers the
mark, so that SQLite reusing its id (the largest rowid + 1) leaves the new row above it.

PostgreSQL is unchanged: its pg_trgm GIN index takes new rows into its pending list (the
default `fastupdate`), merged in bulk later, which is already a batch.

Revision ID: 0013_message_search_batches
Revises: 0012_drop_opted_out
"""
from alembic import op

revision = "0013_message_search_batches"
down_revision = "0012_drop_opted_out"
branch_labels = None
depends_on = None

_INDEXED = "old.id <= (SELECT indexed_to FROM message_search_mark)"
TRIGGERS = {
    "message_search_ad": f"AFTER DELETE ON message WHEN {_INDEXED} BEGIN "
                         "INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.id, old.body); "
                         "UPDATE message_search_mark SET indexed_to = (SELECT coalesce(max(id), 0) FROM message) "
                         "WHERE indexed_to > (SELECT coalesce(max(id), 0) FROM message); END",
    "message_search_au": f"AFTER UPDATE OF body ON message WHEN {_INDEXED} BEGIN "
                         "INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.id, old.body); "
                         "INSERT INTO message_search(rowid, body) VALUES (new.id, new.body); END",
}
# 0010_message_search's, for the downgrade.
PER_ROW = {
    "message_search_ai": "AFTER INSERT ON message BEGIN "
                         "INSERT INTO message_search(rowid, body) VALUES (new.id, new.body); END",
    "message_search_ad": "AFTER DELETE ON message BEGIN "
                         "INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.id, old.body); END",
    "message_search_au": "AFTER UPDATE OF body ON message BEGIN "
                         "INSERT INTO message_search(message_search, rowid, body) VALUES ('delete', old.id, old.body); "
                         "INSERT INTO message_search(rowid, body) VALUES (new.id, new.body); END",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE message_search_mark (id INTEGER PRIMARY KEY CHECK (id = 1), "
               "indexed_to INTEGER NOT NULL)")
    # Every row is in the index today (0010's trigger put each one in).
    op.execute("INSERT INTO message_search_mark (id, indexed_to) SELECT 1, coalesce(max(id), 0) FROM message")
    for name in PER_ROW:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("INSERT INTO message_search(rowid, body) SELECT id, body FROM message "
               "WHERE id > (SELECT indexed_to FROM message_search_mark)")
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name, body in PER_ROW.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute("DROP TABLE message_search_mark")
