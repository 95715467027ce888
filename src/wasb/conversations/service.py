"""What agents do to a conversation besides writing in it: take it, close it, read it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, exists, func, select
from sqlalchemy.orm import Session

from wasb.auth.tables import User
from wasb.config import Config
from wasb.conversations.tables import CLOSED, OPEN, Conversation, Message
from wasb.domain.statuses import HELD
from wasb.hooks.service import CONVERSATION_ASSIGNED, CONVERSATION_CLOSED, CONVERSATION_OPENED, emit
from wasb.settings.service import settings_for_transaction
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


@dataclass(frozen=True)
class OpenRow:
    """The open conversation a customer's message goes to, as the inbound worker needs it."""

    id: int | None  # None: to be started (once its ticket is known)
    crm_person_id: str | None
    ticket_id: str | None
    association_error: str | None
    # Ticket comments of this customer wait for the window (any of their conversations).
    held_waiting: bool


_conversations = Conversation.__table__
_cv = _conversations.c
_messages = Message.__table__
_latest = _conversations.alias("latest")
_in_at = bindparam("at", type_=_cv.last_inbound_at.type)
_held = exists().where(_messages.c.status == HELD, _messages.c.conversation_id.in_(
    select(_latest.c.id).where(_latest.c.wa_contact_id == bindparam("of_contact")).scalar_subquery()))


def _later(column):
    return case((column.is_(None) | (column < _in_at), _in_at), else_=column)


# Built once: every inbound message of a known customer runs it. Finding the open
# conversation and counting the message in it are one statement.
_customer_wrote = (
    _conversations.update()
    .where(_cv.id == select(_latest.c.id).where(
        _latest.c.wa_contact_id == bindparam("of_contact"), _latest.c.status == OPEN,
        _latest.c.phone_number_id == bindparam("on_number")).order_by(_latest.c.id.desc()).limit(1)
        .scalar_subquery())
    .values(unread=func.coalesce(_cv.unread, 0) + 1, last_message_at=_later(_cv.last_message_at),
            last_inbound_at=_later(_cv.last_inbound_at))
    .returning(_cv.id, _cv.crm_person_id, _cv.ticket_id, _cv.association_error, _held.label("held_waiting")))


def customer_wrote_in(session: Session, contact_id: int, phone_number_id: str, at: datetime) -> OpenRow | None:
    """The customer's open conversation on this number (as `find_open_conversation`), with
    their message of `at` counted (unread, last message times); None when there is none."""
    row = session.execute(_customer_wrote, {"of_contact": contact_id, "on_number": phone_number_id, "at": at}).first()
    return OpenRow(row.id, row.crm_person_id, row.ticket_id, row.association_error, bool(row.held_waiting)) \
        if row is not None else None


_start = _conversations.insert().returning(_cv.id)


def start_conversation(session: Session, *, name: str, phone_number_id: str, contact_id: int,
                       crm_person_id: str | None, ticket_id: str | None, association_error: str | None,
                       at: datetime) -> int:
    """A new open conversation holding the customer's first message (one INSERT)."""
    conversation_id = session.execute(_start, {
        "name": name, "phone_number_id": phone_number_id, "wa_contact_id": contact_id,
        "crm_person_id": crm_person_id, "ticket_id": ticket_id, "status": OPEN, "started_at": at,
        "last_message_at": at, "last_inbound_at": at, "unread": 1, "association_error": association_error,
    }).scalar_one()
    conversation_opened(session, conversation_id, contact_id=contact_id, phone_number_id=phone_number_id,
                        crm_person_id=crm_person_id, at=at, by="customer")
    return conversation_id


def conversation_opened(session: Session, conversation_id: int, *, contact_id: int, phone_number_id: str,
                        crm_person_id: str | None, at: datetime, by: str) -> None:
    """Tell the outgoing webhooks: `by` is "customer" (they wrote), "agent" (an agent wrote
    first) or "reopened"."""
    emit(session, CONVERSATION_OPENED, {
        "conversation_id": conversation_id, "contact_id": contact_id, "phone_number_id": phone_number_id,
        "crm_person_id": crm_person_id, "opened_by": by, "at": at}, conversation_id)


def conversation_closed(session: Session, conversation_id: int, at: datetime, by: str) -> None:
    """Tell the outgoing webhooks: `by` is "agent" or "policy" (closeConversations)."""
    emit(session, CONVERSATION_CLOSED, {"conversation_id": conversation_id, "closed_by": by, "at": at},
         conversation_id)


_held_of_contact = select(_held)


def held_comments_wait(session: Session, contact_id: int) -> bool:
    """Whether ticket comments for this customer wait for the window."""
    return bool(session.scalar(_held_of_contact, {"of_contact": contact_id}))


_follow_ticket = _conversations.update().where(_cv.id == bindparam("conversation")).values(
    ticket_id=bindparam("follows")).returning(_cv.id)


def follow_ticket(session: Session, conversation_id: int, ticket_id: str) -> None:
    session.execute(_follow_ticket, {"conversation": conversation_id, "follows": ticket_id})


def _conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    return conversation


class UnknownAgent(ValueError):
    """Conversations are assigned to active WASB users only."""


def assign_conversation(session: Session, conversation_id: int, username: str | None) -> Conversation:
    """Give the conversation to an active user (None: to nobody); the webhook event when it changes."""
    conversation = _conversation(session, conversation_id)
    if username and session.scalar(select(User.id).where(User.username == username, User.active.is_(True))) is None:
        raise UnknownAgent(f"no active user {username!r}")
    before = conversation.assigned_user
    conversation.assigned_user = username or None
    session.flush()
    if conversation.assigned_user != before:
        emit(session, CONVERSATION_ASSIGNED, {"conversation_id": conversation.id,
                                              "assigned_user": conversation.assigned_user,
                                              "previous_user": before, "at": utcnow()}, conversation.id)
    return conversation


def claim_on_reply(session: Session, config: Config, conversation_id: int, username: str) -> bool:
    """The agent who answers an unassigned conversation takes it (setting `assign_on_reply`);
    one already assigned stays with its agent. True: taken now."""
    conversation = _conversation(session, conversation_id)
    if conversation.assigned_user is not None or not settings_for_transaction(session, config).assign_on_reply:
        return False
    assign_conversation(session, conversation_id, username)
    return True


def close_conversation(session: Session, conversation_id: int) -> Conversation:
    """Closing a conversation never closes its ticket; the customer's next message opens
    a new conversation on the still-open ticket."""
    conversation = _conversation(session, conversation_id)
    if conversation.status != CLOSED:
        conversation.status, conversation.closed_at = CLOSED, utcnow()
        session.flush()
        conversation_closed(session, conversation.id, conversation.closed_at, "agent")
    return conversation


class AnotherConversationOpen(Exception):
    """The customer's newer conversation is open: a second open one would split the thread."""

    def __init__(self, conversation_id: int, open_id: int):
        super().__init__(f"conversation {conversation_id} cannot be reopened: the customer's conversation "
                         f"{open_id} is open, write there")
        self.open_id = open_id


def reopen_conversation(session: Session, conversation_id: int) -> Conversation:
    """A closed conversation open again (an open one is left as it is: reopening twice is
    harmless). Refused while the customer has another open conversation on the number:
    their messages go to that one."""
    conversation = _conversation(session, conversation_id)
    if conversation.status == OPEN:
        return conversation
    other = find_open_conversation(session, conversation.wa_contact_id, conversation.phone_number_id)
    if other is not None:
        raise AnotherConversationOpen(conversation.id, other.id)
    conversation.status, conversation.closed_at = OPEN, None
    session.flush()
    conversation_opened(session, conversation.id, contact_id=conversation.wa_contact_id,
                        phone_number_id=conversation.phone_number_id, crm_person_id=conversation.crm_person_id,
                        at=utcnow(), by="reopened")
    return conversation


def mark_read(session: Session, conversation_id: int) -> None:
    """An agent opened the conversation: its customer messages are no longer unread."""
    conversation = _conversation(session, conversation_id)
    if conversation.unread:
        conversation.unread = 0
        session.flush()


def last_outbound_statuses(session: Session, conversation_ids: list[int]) -> dict[int, str]:
    """Each conversation's latest outgoing message's status, read from the messages: no
    conversation row is written for it, so senders and status webhooks of one customer
    never wait on each other's lock of that row."""
    if not conversation_ids:
        return {}
    latest = (select(func.max(Message.id)).where(Message.conversation_id.in_(conversation_ids),
                                                 Message.direction == "out")
              .group_by(Message.conversation_id))
    return dict(session.execute(select(Message.conversation_id, Message.status).where(Message.id.in_(latest))).all())
