"""Process 1, ticket management: an agent's ticket comment goes out on WhatsApp.

    window open    the comment as a text message in the ticket's conversation
    window closed  the comment waits on the ticket (`held`, "waiting for the customer's reply")
                   and the configured utility template (`fallback_template`, parameters
                   mapped from the ticket) goes out instead; the customer's next message
                   reopens the window and releases what waited, in order

Meta is authoritative about the window: a comment refused with 131047 although our clock
said open is held the same way (nothing an agent typed is lost). Either way the ticket now
waits for the customer (`status_waiting`).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import OPEN, Conversation, Message
from wasb.crm.port import Comment, CommentAuthor, Ticket
from wasb.domain.statuses import FAILED, HELD, QUEUED
from wasb.domain.clock import window_now
from wasb.domain.window import customer_window
from wasb.outbound.held import COMMENT_ORIGIN, hold
from wasb.outbound.service import MAX_TEXT, InvalidMessage, conversation_for_person, enqueue_send
from wasb.runtime import Runtime
from wasb.settings.service import settings_for_transaction
from wasb.store.base import utcnow

WAITING = "waiting for the customer's reply"


class TicketNotFound(LookupError):
    pass


class CommentError(ValueError):
    pass


@dataclass
class CommentDelivery:
    """What became of an agent's comment: `queued` (the text goes out now), `held` (it waits
    for the customer's reply), or `not_sent` (with the reason)."""

    comment: Comment
    outcome: str
    message: Message | None = None
    template_message: Message | None = None
    reason: str | None = None

    def view(self) -> dict:
        return {"comment": {"id": self.comment.id, "ticket_id": self.comment.ticket_id, "body": self.comment.body,
                            "author_user": self.comment.author_user},
                "outcome": self.outcome, "message_id": self.message.id if self.message else None,
                "template_message_id": self.template_message.id if self.template_message else None,
                "reason": self.reason}


def comment_to_whatsapp(rt: Runtime, session: Session, ticket_id: str, comment: Comment | str,
                        author: str) -> CommentDelivery:
    """An agent's comment on a ticket, to the ticket's customer on WhatsApp.

    `comment` is the text of a new comment (written on the ticket here, by `author`), or a
    Comment already in the CRM (an agent wrote it there); calling again for the same
    comment changes nothing."""
    crm = rt.crm(session)
    settings = settings_for_transaction(session, rt.config)
    ticket = crm.get_ticket(ticket_id)
    if ticket is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    if isinstance(comment, str):
        text = comment.strip()
        if not text:
            raise CommentError("a comment needs a text")
        comment = crm.add_comment(ticket.id, text, CommentAuthor.agent(author))
    message = session.scalars(select(Message).where(Message.crm_comment_id == comment.id)).first()
    if not settings.process_ticket_comments:
        reason = "the ticket-comment process is switched off"
        if message is not None and message.origin is None and message.status == QUEUED and not message.wamid:
            # A row the agent-comment poll wrote: it must not wait for a flush to send it.
            message.status, message.error_message = FAILED, f"not sent: {reason}"
        return CommentDelivery(comment, "not_sent", message, reason=reason)
    if message is not None and message.origin == COMMENT_ORIGIN:
        return CommentDelivery(comment, message.status if message.status == HELD else QUEUED, message)
    if len(comment.body) > MAX_TEXT:
        return CommentDelivery(comment, "not_sent", reason=f"a WhatsApp text is at most {MAX_TEXT} characters")
    try:
        conversation = _conversation(rt, session, ticket)
    except InvalidMessage as exc:
        return CommentDelivery(comment, "not_sent", reason=str(exc))
    if conversation is None:
        return CommentDelivery(comment, "not_sent", reason=f"ticket {ticket.number} has no customer on WhatsApp")
    contact = session.get(WaContact, conversation.wa_contact_id)
    conversation.ticket_id = conversation.ticket_id or ticket.id
    now = utcnow()
    if message is None:  # (an agent-comment poll may have written the row already)
        message = Message(conversation_id=conversation.id, direction="out", type="text", status=QUEUED,
                          timestamp=now, send_attempts=0)
        session.add(message)
    message.conversation_id, message.body = conversation.id, comment.body
    message.author = comment.author_user or author
    message.crm_comment_id, message.origin = comment.id, COMMENT_ORIGIN
    session.flush()
    crm.set_ticket_status(ticket.id, settings.status_waiting)
    if customer_window(contact.last_inbound_at, contact.window_closed_at, window_now()).open:
        enqueue_send(rt, session, conversation, contact, message)
        return CommentDelivery(comment, QUEUED, message)
    template, problem = hold(rt, session, conversation, contact, message, settings, ticket)
    return CommentDelivery(comment, HELD, message, template, problem)


def comment_messages(session: Session, comment_ids: list[str]) -> dict[str, Message]:
    """The WhatsApp message that carries each comment (sent, or held until the customer
    writes); one at most per comment (the column is unique)."""
    if not comment_ids:
        return {}
    return {m.crm_comment_id: m for m in session.scalars(
        select(Message).where(Message.crm_comment_id.in_(comment_ids)))}


def _conversation(rt: Runtime, session: Session, ticket: Ticket) -> Conversation | None:
    """The ticket's open conversation, else the customer's open one (or a new one)."""
    linked = session.scalars(
        select(Conversation).where(Conversation.ticket_id == ticket.id)
        .order_by(case((Conversation.status == OPEN, 0), else_=1), Conversation.id.desc()).limit(1)).first()
    if linked is not None and linked.status == OPEN:
        return linked
    person = rt.crm(session).get_person(ticket.person_id) if ticket.person_id else None
    if person is None:
        return linked
    conversation, _ = conversation_for_person(rt, session, person)
    return conversation
