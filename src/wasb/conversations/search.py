"""Finding conversations by the text of their messages, through the search index
(migration 0010_message_search: FTS5 trigram on SQLite, pg_trgm on PostgreSQL).

Both answer "the text contains these characters", case-insensitively — the same meaning a
plain LIKE scan would have, without reading every message. On SQLite a text found in very
many messages is searched by that scan instead (see COMMON), where case folding is ASCII's.

On SQLite the index is filled in batches (migration 0013_message_search_batches), not by
the transaction that writes a message: `index_new` adds the rows above the mark, and the
search reads those few newest rows with a LIKE (ASCII case folding, as the scan), so a
message is found the moment it is committed.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, column, exists, func, insert, select, table, update
from sqlalchemy.orm import Session

from wasb.conversations.tables import Conversation, Message
from wasb.store.like import contains_pattern

# The FTS5 table of 0010_message_search (not in the ORM metadata: it is SQLite's virtual table, made by the migration).
_fts = table("message_search", column("rowid"), column("body"))
# The highest message id the FTS5 table holds (0013_message_search_batches).
_mark = table("message_search_mark", column("indexed_to"))
_indexed_to = select(_mark.c.indexed_to).scalar_subquery()

# The inbound worker indexes the rows below a message whose id is a multiple of this (the
# periodic syncMessages catches up on quiet days): one batch of statements per BATCH messages.
BATCH = 256

# Beyond this many matching messages, the index's list of hits costs more than scanning the
# conversations and stopping at each one's first match (bench: 200,000 messages, a word in half
# of them: 0.53 s through the index, 0.2 s by the scan; a rare word: 4 ms against 190 ms).
COMMON = 5_000


def has_message_containing(session: Session, text: str) -> ColumnElement[bool]:
    """A condition on Conversation: one of its messages contains `text` (any case)."""
    pattern, escape = contains_pattern(text.lower())
    if session.get_bind().dialect.name == "sqlite":
        # The trigram tokenizer folds case itself.
        hits = select(_fts.c.rowid).where(_fts.c.body.like(pattern, escape=escape))
        if session.scalar(select(func.count()).select_from(hits.limit(COMMON + 1).subquery())) <= COMMON:
            newest = select(Message.id).where(Message.id > _indexed_to,
                                              func.lower(Message.body).like(pattern, escape=escape))
            return Conversation.id.in_(select(Message.conversation_id).where(
                Message.id.in_(hits.union_all(newest))))
        return exists().where(Message.conversation_id == Conversation.id,
                              func.lower(Message.body).like(pattern, escape=escape))
    # PostgreSQL: the pg_trgm index on lower(body), hashed once for the whole query.
    return Conversation.id.in_(
        select(Message.conversation_id).where(func.lower(Message.body).like(pattern, escape=escape)))


_index_above_mark = insert(_fts).from_select(
    ["rowid", "body"], select(Message.id, Message.body).where(Message.id > _indexed_to))
_raise_mark = update(_mark).values(indexed_to=select(func.max(Message.id)).scalar_subquery()).where(
    _mark.c.indexed_to < select(func.max(Message.id)).scalar_subquery())


def index_new(session: Session) -> None:
    """Put the messages written since the last batch into the search index (SQLite; the
    PostgreSQL index keeps itself). In the caller's transaction: on SQLite it holds the
    write lock, so no message is written between the two statements."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(_index_above_mark)
        session.execute(_raise_mark)


def due_for_indexing(message_id: int) -> bool:
    """Whether the writer of this message indexes the batch it completes."""
    return message_id % BATCH == 0
