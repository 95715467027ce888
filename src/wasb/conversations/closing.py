"""closeConversations: close open conversations by the `close_after` policy.

- `window` (default): N hours after the customer's last message, when the
  customer-service window closes (a conversation the customer never wrote in counts
  from its start);
- `created`: N hours after the conversation started (the original plugin's rule).

N is `close_after_hours` (24). Closing never touches the ticket: the customer's next
message opens a new conversation, which the inbound flow links to the person's
still-open ticket.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from wasb.conversations.service import conversation_closed
from wasb.conversations.tables import CLOSED, OPEN, Conversation
from wasb.domain.clock import window_now
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings, load_settings

BATCH = 500


def expired(settings: AdminSettings, now: datetime):
    """The SQL condition of an open conversation the policy closes at `now`."""
    limit = now - timedelta(hours=settings.close_after_hours)
    if settings.close_after == "created":
        return Conversation.started_at <= limit
    return or_(Conversation.last_inbound_at <= limit,
               and_(Conversation.last_inbound_at.is_(None), Conversation.started_at <= limit))


def close_expired(session: Session, settings: AdminSettings, now: datetime, limit: int = BATCH) -> tuple[int, int]:
    """Close up to `limit` expired conversations; returns (candidates seen, closed)."""
    ids = list(session.scalars(select(Conversation.id).where(Conversation.status == OPEN, expired(settings, now))
                               .order_by(Conversation.id).limit(limit)))
    if not ids:
        return 0, 0
    # Re-checked in the UPDATE: a message that arrived meanwhile keeps it open.
    closing = (update(Conversation)
               .where(Conversation.id.in_(ids), Conversation.status == OPEN, expired(settings, now))
               .values(status=CLOSED, closed_at=now)
               .returning(Conversation.id)
               .execution_options(synchronize_session=False))
    closed = list(session.scalars(closing))
    for conversation_id in sorted(closed):
        conversation_closed(session, conversation_id, now, "policy")
    return len(ids), len(closed)


def run_close_conversations(rt: Runtime, ctx) -> dict:
    # Measured on the window's clock, as the customer's messages are stamped: in `make run`
    # the phone page's +24 h closes the window and so, at the next run, the conversation.
    # Outside the demo both clocks are the real one.
    now = max(ctx.now(), window_now())
    with rt.db.read_sessions() as s:
        settings = load_settings(s, rt.config)
        total = s.scalar(select(func.count()).select_from(Conversation)
                         .where(Conversation.status == OPEN, expired(settings, now)))
    closed = 0
    while True:
        # One short transaction per batch: the webhook intake never waits long.
        with rt.db.sessions() as s, s.begin():
            seen, done = close_expired(s, settings, now)
        closed += done
        ctx.progress(closed, total)
        if seen < BATCH:
            break
    return {"closed": closed, "policy": settings.close_after, "hours": settings.close_after_hours}
