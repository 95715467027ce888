"""Finding conversations by the text of their messages, through the search index
(migration 0010_message_search: FTS5 trigram on SQLite, pg_trgm on PostgreSQL).

Both answer "the text contains these characters", case-insensitively — the same meaning a
plain LIKE scan would have, without reading every message. On SQLite a text found in very
many messages is searched by that scan instead (see COMMON), where case folding is ASCII's.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, column, exists, func, select, table
from sqlalchemy.orm import Session

from wasb.conversations.tables import Conversation, Message
from wasb.store.like import contains_pattern

# The FTS5 table of 0010_message_search (not in the ORM metadata: it is SQLite's virtual table, made by the migration).
_fts = table("message_search", column("rowid"), column("body"))

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
            return Conversation.id.in_(select(Message.conversation_id).where(Message.id.in_(hits)))
        return exists().where(Message.conversation_id == Conversation.id,
                              func.lower(Message.body).like(pattern, escape=escape))
    # PostgreSQL: the pg_trgm index on lower(body), hashed once for the whole query.
    return Conversation.id.in_(
        select(Message.conversation_id).where(func.lower(Message.body).like(pattern, escape=escape)))
