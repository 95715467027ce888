"""Auto-assignment: a customer's new conversation goes to an agent who is online.

Online: a page of theirs listened to the live stream lately (`User.seen_at`, noted once a
minute by `/ui/events`). Among them, the one with the fewest open conversations below the
admin's cap gets it; equal loads take turns (whoever was given one longest ago). Nobody
online, or everyone at the cap: the conversation stays unassigned, in the "Unassigned" tab.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wasb.auth.tables import User
from wasb.conversations.service import assign_conversation
from wasb.conversations.tables import OPEN, Conversation
from wasb.settings.service import AdminSettings

# Three missed presence notes (one a minute) and a margin: a closed laptop is offline within 3 min.
ONLINE_FOR = timedelta(seconds=180)
_EPOCH = datetime.min


def auto_assign(session: Session, settings: AdminSettings, conversation_id: int, now: datetime) -> str | None:
    """Give the new conversation to the online agent whose turn it is; their username, or None."""
    if not settings.auto_assign:
        return None
    online = session.execute(select(User.id, User.username, User.auto_assigned_at).where(
        User.active.is_(True), User.seen_at >= now - ONLINE_FOR)).all()
    if not online:
        return None
    load = dict(session.execute(
        select(Conversation.assigned_user, func.count()).where(
            Conversation.status == OPEN, Conversation.assigned_user.in_([u.username for u in online]))
        .group_by(Conversation.assigned_user)).all())
    free = [u for u in online if load.get(u.username, 0) < settings.auto_assign_cap]
    if not free:
        return None
    chosen = min(free, key=lambda u: (load.get(u.username, 0),
                                      (u.auto_assigned_at or _EPOCH).replace(tzinfo=None), u.username))
    assign_conversation(session, conversation_id, chosen.username)
    session.execute(update(User).where(User.id == chosen.id).values(auto_assigned_at=now))
    return chosen.username
