"""Direct database reads and set-ups for states the API cannot create yet (until the
closeConversations job and the templates API land)."""
from __future__ import annotations

from sqlalchemy import select, update

from wasb.conversations.tables import CLOSED, Conversation
from wasb.store.base import utcnow
from wasb.store.engine import open_database
from wasb.templates.tables import Template


def _db(url):
    return open_database(url)


def close_conversation(url: str, conversation_id: int) -> None:
    db = _db(url)
    try:
        with db.sessions() as s, s.begin():
            s.execute(update(Conversation).where(Conversation.id == conversation_id)
                      .values(status=CLOSED, closed_at=utcnow()))
    finally:
        db.dispose()


def templates(url: str) -> list[dict]:
    db = _db(url)
    try:
        with db.read_sessions() as s:
            return [{"meta_id": t.meta_id, "name": t.name, "language": t.language, "status": t.status,
                     "category": t.category, "quality": t.quality} for t in s.scalars(select(Template))]
    finally:
        db.dispose()


def make_retries_due(url: str) -> None:
    """Every job waiting to try again is due now, as if its backoff had elapsed (the
    running server's worker polls the table and picks them up)."""
    from tests.support.queue_rows import engine_of, make_due

    db = _db(url)
    try:
        with db.sessions() as s, s.begin():
            make_due(s, engine_of(url))
    finally:
        db.dispose()


def job_rows(url: str, task: str) -> list[dict]:
    from tests.support.queue_rows import engine_of, queued_jobs

    db = _db(url)
    try:
        with db.read_sessions() as s:
            return [{"id": j.id, "status": j.status, "attempts": j.attempts, "lock": j.lock,
                     "last_error": j.last_error} for j in queued_jobs(s, engine_of(url), task=task)]
    finally:
        db.dispose()
