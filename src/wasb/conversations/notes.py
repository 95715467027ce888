"""Private notes: what agents write to each other in a conversation (never sent, never on the ticket)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.conversations.service import ConversationNotFound
from wasb.conversations.tables import Conversation, ConversationNote
from wasb.store.base import utcnow

# As long as a WhatsApp text: a note is a remark, not a document.
MAX_NOTE_CHARS = 4096


class InvalidNote(ValueError):
    pass


def add_note(session: Session, conversation_id: int, author: str, body: str) -> ConversationNote:
    """The note, written (the caller commits). Any conversation takes one, closed too:
    nothing reaches the customer."""
    text = (body or "").strip()
    if not text:
        raise InvalidNote("the note is empty: write something")
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidNote(f"the note is longer than {MAX_NOTE_CHARS} characters")
    if "\x00" in text:
        raise InvalidNote("the note must not contain the NUL character (\\u0000)")
    if session.get(Conversation, conversation_id) is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    note = ConversationNote(conversation_id=conversation_id, author=author, body=text, created_at=utcnow())
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, conversation_id: int) -> list[ConversationNote]:
    """The conversation's notes, oldest first."""
    return list(session.scalars(select(ConversationNote).where(ConversationNote.conversation_id == conversation_id)
                                .order_by(ConversationNote.created_at, ConversationNote.id)))
