"""What agents do to a conversation besides writing in it: take it, close it, read it."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from wasb.conversations.tables import CLOSED, OPEN, Conversation
from wasb.store.base import utcnow


class ConversationNotFound(LookupError):
    pass


# Built once: every inbound message asks it.
_open_conversation = (
    select(Conversation)
    .where(Conversation.wa_contact_id == bindparam("contact_id"), Conversation.status == OPEN,
           Conversation.phone_number_id == bindparam("phone_number_id"))
    .order_by(Conversation.id.desc()))


def find_open_conversation(session: Session, contact_id: int, phone_number_id: str) -> Conversation | None:
    """The customer's open conversation on this number (the latest, should there be two)."""
    return session.scalars(_open_conversation, {"contact_id": contact_id, "phone_number_id": phone_number_id}).first()


def _conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    return conversation


def assign_conversation(session: Session, conversation_id: int, username: str | None) -> Conversation:
    conversation = _conversation(session, conversation_id)
    conversation.assigned_user = username or None
    session.flush()
    return conversation


def close_conversation(session: Session, conversation_id: int) -> Conversation:
    """Closing a conversation never closes its ticket; the customer's next message opens
    a new conversation on the still-open ticket."""
    conversation = _conversation(session, conversation_id)
    if conversation.status != CLOSED:
        conversation.status, conversation.closed_at = CLOSED, utcnow()
        session.flush()
    return conversation


def mark_read(session: Session, conversation_id: int) -> None:
    """An agent opened the conversation: its customer messages are no longer unread."""
    conversation = _conversation(session, conversation_id)
    if conversation.unread:
        conversation.unread = 0
        session.flush()
