"""Comments agents write in an external CRM, on tickets of WhatsApp conversations,
become outbound WhatsApp messages.

The CRM cannot call us, so it is polled: `poll_agent_comments` asks the CRM for the
comments written after a cursor kept in the service database (by anyone but the
reference user, whose comments are WASB's own), and writes each as a `queued`
outbound message of the conversation linked to its ticket. The message row carries
the comment id under a unique constraint, and the cursor is committed with the rows,
so each comment becomes one message, once, across restarts and parallel polls.

Sending is the ticket process's job: `wasb.tickets.process.comment_to_whatsapp(rt,
session, ticket_id, comment, author)` is called in the same transaction for each new
row; it adopts the row (found by the comment id) and sends it, or holds it while the
customer's window is closed.

`POLL_AGENT_COMMENTS` runs the poll as a job that enqueues its own next run (every
`WASB_CRM_POLL_SECONDS`); syncMessages also calls the plain function (its step 6).
One poll at a time in the cluster: the job polls under the advisory lock `POLL_LOCK`
(gone with a dead process's connection), and a poll job that finds it taken ends its
chain (another chain is polling); `ensure_polling`, which every worker process calls at
its start, looks and enqueues under a transaction lock, so the processes starting at
once start one chain.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from wasb.conversations.tables import OPEN, Conversation, Message
from wasb.crm.port import Comment, CRMAuthError, CRMUnavailable
from wasb.crm.tables import CrmState
from wasb.domain.statuses import QUEUED
from wasb.jobs.queue import Task
from wasb.runtime import Runtime
from wasb.settings.service import load_settings
from wasb.store.base import utcnow
from wasb.store.cluster import exclusive, serialize
from wasb.store.upsert import insert_for
from wasb.tickets.process import comment_to_whatsapp

log = logging.getLogger(__name__)

POLL_TASK = "crm.poll_agent_comments"
POLL_LOCK = "crm:agent-comments"
# Every poll job carries it: the queue tells by it whether the chain of polls is alive.
POLL_REF = "crm:agent-comments"
CURSOR_KEY = "agent_comments.cursor"
LAST_POLL_KEY = "agent_comments.last_poll"
PAGE = 100
MAX_PAGES = 20  # per poll: a big backlog is caught up over a few polls
RETRY_AFTER_GIVING_UP_SECONDS = 600


@dataclass
class PollSummary:
    seen: int = 0  # agent comments the CRM returned
    queued: int = 0  # new outbound messages written
    not_whatsapp: int = 0  # on tickets no conversation is linked to
    already_known: int = 0  # a message exists for the comment already
    handed_over: int = 0  # passed to the ticket process's comment_to_whatsapp
    cursor: str | None = None


def poll_agent_comments(rt: Runtime) -> PollSummary:
    """One poll: every agent comment since the cursor becomes a queued message."""
    summary = PollSummary()
    with rt.db.read_sessions() as session:
        settings = load_settings(session, rt.config)
        state = session.get(CrmState, CURSOR_KEY)
        cursor = state.value if state else None
        crm = rt.crm(session)
        if cursor is None:
            # First poll: start after the CRM's newest comment. Comments written before
            # WASB polled this CRM were never meant for WhatsApp. The start comes from
            # the CRM's rows, not from our clock: a clock converted with a wrong
            # `crm_timezone` put the cursor an hour ahead and skipped every comment of
            # that hour (comments_cursor_start is the vtenext adapter's).
            start = getattr(crm, "comments_cursor_start", None)
            cursor = start() if start else None
        for _ in range(MAX_PAGES):
            page = crm.agent_comments_since(cursor, exclude_user=settings.reference_user or None, limit=PAGE)
            _record_page(rt, page.items, page.cursor, summary)
            cursor = page.cursor
            if len(page.items) < PAGE:
                break
    summary.cursor = cursor
    if summary.queued:
        log.info("agent comments: %d new message(s) queued for WhatsApp", summary.queued)
    return summary


def _record_page(rt: Runtime, comments: list[Comment], cursor: str | None, summary: PollSummary) -> None:
    with rt.db.sessions() as session, session.begin():
        dialect = session.get_bind().dialect.name
        for comment in comments:
            summary.seen += 1
            conversation = linked_conversation(session, comment.ticket_id)
            if conversation is None:
                summary.not_whatsapp += 1
                continue
            message_id = session.execute(
                insert_for(dialect, Message.__table__).values(
                    conversation_id=conversation.id, direction="out", type="text", body=comment.body,
                    status=QUEUED, author=comment.author_user, crm_comment_id=comment.id,
                    timestamp=comment.created_at or utcnow(), created_at=utcnow(), crm_pending=False,
                ).on_conflict_do_nothing(index_elements=["crm_comment_id"]).returning(Message.__table__.c.id)
            ).scalar()
            if message_id is None:
                summary.already_known += 1
                continue
            summary.queued += 1
            conversation.last_message_at = max(filter(None, [conversation.last_message_at, comment.created_at]),
                                               default=utcnow())
            comment_to_whatsapp(rt, session, comment.ticket_id, comment, comment.author_user or "")
            summary.handed_over += 1
        _save(session, dialect, CURSOR_KEY, cursor)
        _save(session, dialect, LAST_POLL_KEY, {"at": utcnow().isoformat(), "queued": summary.queued,
                                                 "seen": summary.seen})


def linked_conversation(session: Session, ticket_id: str) -> Conversation | None:
    """The conversation an agent's comment on this ticket goes to: the open one, else
    the latest (a ticket is shared by the conversations of one customer)."""
    return session.scalars(
        select(Conversation).where(Conversation.ticket_id == ticket_id)
        .order_by(case((Conversation.status == OPEN, 0), else_=1), Conversation.id.desc()).limit(1)).first()


def _save(session: Session, dialect: str, key: str, value: object) -> None:
    if value is None:
        return
    stmt = insert_for(dialect, CrmState.__table__).values(key=key, value=value, updated_at=utcnow())
    session.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                               set_={"value": stmt.excluded.value, "updated_at": utcnow()}))


def read_state(session: Session) -> dict:
    rows = dict(session.execute(select(CrmState.key, CrmState.value).where(
        CrmState.key.in_((CURSOR_KEY, LAST_POLL_KEY)))).all())
    return {"cursor": rows.get(CURSOR_KEY), "last_poll": rows.get(LAST_POLL_KEY)}


# --- the poll as a job that enqueues its own next run -------------------------------

def _run(rt: Runtime, session: Session, payload: dict) -> None:
    with exclusive(rt.db, POLL_LOCK) as mine:
        if not mine:
            log.info("agent comments: another process is polling; this chain of polls ends")
            return
        poll_agent_comments(rt)
    schedule_next(rt, session, rt.config.crm_poll_seconds)


def schedule_next(rt: Runtime, session: Session, delay_seconds: float) -> None:
    rt.queue.enqueue(session, POLL_TASK, {}, lock=POLL_LOCK, ref=POLL_REF,
                      delay_seconds=delay_seconds)


def _give_up(rt: Runtime, session: Session, payload: dict, error: str) -> None:
    # A poll that keeps failing for another reason than the CRM being away stays
    # visible as a failed job, and polling goes on later rather than stopping forever.
    schedule_next(rt, session, RETRY_AFTER_GIVING_UP_SECONDS)


def ensure_polling(rt: Runtime) -> None:
    """Start the chain of polls unless one is already waiting or running."""
    with rt.db.sessions() as session, session.begin():
        serialize(session, POLL_REF)  # the processes starting at once: one chain
        if not any(job.waiting for job in rt.queue.jobs_of(session, [POLL_REF])):
            schedule_next(rt, session, 0)


POLL_AGENT_COMMENTS = Task(
    name=POLL_TASK,
    run=_run,
    max_attempts=5,
    on_give_up=_give_up,
    wait_on=(CRMUnavailable, CRMAuthError),
)
