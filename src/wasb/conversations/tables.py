"""Conversations and their messages (the plugin's "WASB Conversazioni" and its detail table)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, false, func, text
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, BigId, JSONType, UTCDateTime, utcnow

OPEN = "open"
CLOSED = "closed"


class Conversation(Base):
    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    phone_number_id: Mapped[str] = mapped_column(String(64))
    wa_contact_id: Mapped[int] = mapped_column(ForeignKey("wa_contact.id"), index=True)
    crm_person_id: Mapped[str | None] = mapped_column(String(64), index=True)
    ticket_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    starting_template: Mapped[str | None] = mapped_column(String(200))
    assigned_user: Mapped[str | None] = mapped_column(String(100))
    unread: Mapped[int] = mapped_column(Integer, default=0)
    # Set when the number matches more than one CRM record: we guess nothing.
    association_error: Mapped[str | None] = mapped_column(Text)
    # The closed period (its start, UTC) the away message last went out for: once per period.
    away_sent_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The campaign whose message this customer answered (wasb.campaigns): the inbox says so.
    campaign_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_conversation_contact_status", "wa_contact_id", "status"),)


class Message(Base):
    __tablename__ = "message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    wamid: Mapped[str | None] = mapped_column(String(200), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str | None] = mapped_column(Text)
    media_id: Mapped[str | None] = mapped_column(String(200))
    media_mime: Mapped[str | None] = mapped_column(String(100))
    media_filename: Mapped[str | None] = mapped_column(String(300))
    media_sha256: Mapped[str | None] = mapped_column(String(100))
    # The inbound file's download (wasb.media): pending → stored, or failed / expired; a file we send is stored from the start
    # (Meta keeps media for 7 days). The path is relative to WASB_MEDIA_DIR.
    media_state: Mapped[str | None] = mapped_column(String(16), index=True)
    media_path: Mapped[str | None] = mapped_column(String(300))
    media_size: Mapped[int | None] = mapped_column(BigInteger)
    media_error: Mapped[str | None] = mapped_column(Text)
    reply_to_wamid: Mapped[str | None] = mapped_column(String(200))
    reaction: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    # Every error of a failed status, in Meta's order (`error_code`/`error_message` are the
    # first): `[{"code", "title", "message", "details", "href"}]` (`whatsapp.webhook.all_errors`).
    errors: Mapped[list | None] = mapped_column(JSONType)
    # Indexed for analytics, which recomputes a day's figures from its messages.
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    author: Mapped[str | None] = mapped_column(String(100))
    template_name: Mapped[str | None] = mapped_column(String(200))
    template_params: Mapped[dict | None] = mapped_column(JSONType)
    pricing: Mapped[dict | None] = mapped_column(JSONType)
    # The `conversation` object of the message's statuses (Meta's shape, its known fields
    # only): `{"id", "expiration_timestamp", "origin": {"type"}}`.
    meta_conversation: Mapped[dict | None] = mapped_column(JSONType)
    # The CRM comment this message is (a customer's message written on the ticket) or
    # came from (an agent's comment sent to WhatsApp): unique, so a comment becomes at
    # most one message, however often the poll sees it.
    crm_comment_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # An inbound message whose CRM steps (ticket, comment, status) are not all done
    # yet: with an external CRM each step is committed as it succeeds, and a retried
    # job resumes here instead of writing the same comment twice.
    crm_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Outbound: the CRM document sent (image/document), when it came from the CRM.
    document_id: Mapped[str | None] = mapped_column(String(64))
    # Outbound: when the last call to Meta started (committed before calling), and how many calls.
    send_attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Outbound: what wrote it when not an agent in the conversation, e.g. "ticket_comment" (the
    # ticket process: held while the window is closed) or "fallback_template".
    origin: Mapped[str | None] = mapped_column(String(32))
    # The item as Meta sent it: unknown fields and types are kept, never dropped.
    raw: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Outbound: when the sender uploaded the file to Meta (set on the message that uploaded it,
    # not on those that reused its media id): Meta keeps an upload 30 days.
    media_uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # A file we uploaded to Meta lately, found by its digest (outbound.sender reuses the media id).
    __table_args__ = (Index("ix_message_uploaded_file", "media_sha256", "media_uploaded_at",
                            sqlite_where=text("media_uploaded_at IS NOT NULL"),
                            postgresql_where=text("media_uploaded_at IS NOT NULL")),)


class ConversationNote(Base):
    """An agent's private note in a conversation: never sent to WhatsApp, never a CRM comment.

    A table of its own, not a kind of `message`: the sender, the ticket mirror and every
    query of messages cannot pick a note by mistake, whatever they filter on."""

    __tablename__ = "conversation_note"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedReply(Base):
    """A ready answer an agent inserts with `/shortcut` in the composer (wasb.conversations.canned).

    `owner_id` NULL: shared by the team (admins manage it); else the user's own. A shortcut is
    unique per owner: the index reads a shared reply's owner as 0, since NULLs never collide."""

    __tablename__ = "canned_reply"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shortcut: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("uq_canned_reply_owner_shortcut", func.coalesce(owner_id, 0), shortcut, unique=True),)


class PendingStatus(Base):
    """A status webhook for a wamid we do not know yet (it raced the send response)."""

    __tablename__ = "pending_status"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    wamid: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
