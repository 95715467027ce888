"""What agents do to a conversation besides writing in it: take it, close it, read it."""
from __future__ import annotations

from sqlalchemy.orm import Session

from wasb.conversations.tables import CLOSED, Conversation
from wasb.store.base import utcnow


class ConversationNotFound(LookupError):
    pass


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
