"""What waits for an agent: conversations holding customer messages no agent has seen.

"Seen" is kept on the conversation itself: `Conversation.unread` counts the customer's
messages since an agent last opened it (each inbound message adds one, `service.mark_read`
sets it back to 0 when an agent opens the conversation or the API reads it with
`mark_read=true`). One marker for all agents: what a colleague has read is read.
An agent is told of the open conversations that are theirs or no one's; a closed
conversation waits for nobody (the customer's next message opens a new one).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import OPEN, Conversation, Message

# At most this many conversations are looked at per question (a live event names a burst's).
MAX_ASKED = 100


def _for(username: str):
    """Open conversations that are `username`'s or unassigned."""
    return (Conversation.status == OPEN) & or_(Conversation.assigned_user == username,
                                                Conversation.assigned_user.is_(None))


def waiting_count(session: Session, username: str) -> int:
    """How many of `username`'s or unassigned open conversations hold unseen customer messages."""
    return session.scalar(select(func.count()).select_from(Conversation)
                          .where(_for(username), Conversation.unread > 0)) or 0


def latest_customer_message_id(session: Session) -> int:
    """The newest customer message's id: a page starts counting what is new from here."""
    return session.scalar(select(func.max(Message.id)).where(Message.direction == "in")) or 0


@dataclass(frozen=True)
class CustomerMessage:
    """The latest customer message of a conversation an agent may be told of."""

    conversation: Conversation
    contact: WaContact
    message: Message


def latest_customer_messages(session: Session, username: str, conversation_ids: Iterable[int]
                             ) -> list[CustomerMessage]:
    """For each of these conversations that is `username`'s or unassigned (and open): its
    latest customer message, read or not (a page tells what it had not seen before; the
    conversation it shows may have been marked read by the time it asks)."""
    ids = sorted(set(conversation_ids))[:MAX_ASKED]
    if not ids:
        return []
    newest = (select(func.max(Message.id)).where(Message.conversation_id.in_(ids), Message.direction == "in")
              .group_by(Message.conversation_id))
    rows = session.execute(
        select(Conversation, WaContact, Message)
        .join(WaContact, WaContact.id == Conversation.wa_contact_id)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Message.id.in_(newest), _for(username))
        .order_by(Message.id)).all()
    return [CustomerMessage(c, contact, m) for c, contact, m in rows]
