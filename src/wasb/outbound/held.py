"""Ticket comments held while the customer-service window is closed, and released when the
customer writes again (the ticket process, `wasb.tickets.process`, decides to hold; the
sender and the status webhooks hold what Meta refused with 131047; the customer's next
message releases what waited, in order).

A held comment waits as an outbound message row (`held`); the configured fallback template
asks the customer to write, once while comments wait.
"""
from __future__ import annotations

import logging

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message
from wasb.crm.mapping import MappingError, resolve_mapping
from wasb.crm.port import Ticket
from wasb.domain.statuses import FAILED, HELD
from wasb.outbound.service import InvalidMessage, NotFound, Outgoing, enqueue_send, queue_message
from wasb.outbound.statuses import WINDOW_CLOSED
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings, settings_for_transaction
from wasb.store.base import utcnow
from wasb.templates.service import TemplateError, find_template, parameter_sources, unmapped

log = logging.getLogger(__name__)

COMMENT_ORIGIN = "ticket_comment"
FALLBACK_ORIGIN = "fallback_template"


def hold(rt: Runtime, session: Session, conversation: Conversation, contact: WaContact, message: Message,
         settings: AdminSettings, ticket: Ticket | None) -> tuple[Message | None, str | None]:
    """Keep the comment until the customer writes, and ask them to (the fallback template,
    once while comments wait). Returns the template message, or why none was sent."""
    message.status = HELD
    session.flush()
    waiting = session.scalar(
        select(Message.id).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.wa_contact_id == contact.id, Message.status == HELD, Message.id != message.id,
               Message.error_message.is_(None)).limit(1))  # (a reason on it: its template never went)
    if waiting is not None:
        return None, "the fallback template already went out for an earlier comment"
    fallback = settings.fallback_template
    if fallback is None:
        return _waits(message, "no fallback template is configured (setting fallback_template); the comment waits")
    label = f"the fallback template {fallback.name} ({fallback.language})"
    row = find_template(session, fallback.name, fallback.language)
    # Only what an admin mapped on the template's page is filled: a parameter nobody mapped has
    # no value WASB may invent (the ticket's machine title is not a message to a customer).
    missing = unmapped(row) if row is not None else []
    if missing:
        names = ", ".join("{{" + s.placeholder + "}}" for s in missing)
        return _waits(message, f"{label} was not sent: no source is set for its parameter(s) {names} "
                               "(an admin sets them on the template's page); the comment waits for the customer")
    crm = rt.crm(session)
    person = crm.get_person(conversation.crm_person_id) if conversation.crm_person_id else None
    try:
        values = resolve_mapping(parameter_sources(row) if row is not None else {}, person=person, ticket=ticket)
        template = queue_message(rt, session, conversation.id, Outgoing(
            type="template", template_name=fallback.name, template_language=fallback.language,
            template_values=values, origin=FALLBACK_ORIGIN, mirror=False), message.author or "WASB")
    except (MappingError, TemplateError, InvalidMessage, NotFound) as exc:
        log.warning("comment %s held, but the fallback template could not be queued: %s", message.id, exc)
        return _waits(message, f"{label} could not be sent: {exc}")
    return template, None


def _waits(message: Message, reason: str) -> tuple[None, str]:
    """The comment waits without a template: the reason stays on it for the ticket's page
    (cleared when the customer writes and the comment goes out)."""
    message.error_message = reason
    return None, reason


# Built once: every inbound message asks it.
_held_for_contact = (
    select(Message, Conversation).join(Conversation, Conversation.id == Message.conversation_id)
    .where(Conversation.wa_contact_id == bindparam("contact_id"), Message.status == HELD).order_by(Message.id))


def release_held_comments(rt: Runtime, session: Session, contact: WaContact) -> list[int]:
    """The customer wrote (the window is open again): what waited goes out now, in order."""
    rows = session.execute(_held_for_contact, {"contact_id": contact.id}).all()
    for message, conversation in rows:
        message.error_code = message.error_message = message.errors = None
        enqueue_send(rt, session, conversation, contact, message)
    return [message.id for message, _ in rows]


def _ticket_of(rt: Runtime, session: Session, conversation: Conversation) -> Ticket | None:
    return rt.crm(session).get_ticket(conversation.ticket_id) if conversation.ticket_id else None


def hold_refused_comment(rt: Runtime, session: Session, message: Message) -> bool:
    """Meta refused a comment's text with 131047 before accepting it: hold it instead of failing
    it (the caller has recorded the closed window). False when it is not a ticket comment."""
    if message.origin != COMMENT_ORIGIN:
        return False
    conversation = session.get(Conversation, message.conversation_id)
    contact = session.get(WaContact, conversation.wa_contact_id)
    settings = settings_for_transaction(session, rt.config)
    hold(rt, session, conversation, contact, message, settings, _ticket_of(rt, session, conversation))
    return True


def hold_failed_comment(rt: Runtime, session: Session, wamid: str) -> Message | None:
    """Meta accepted a comment's text, then reported 131047 (its usual way): the failed row stays
    as the record of the attempt, and a held copy carries the comment until the customer writes."""
    failed = session.scalars(select(Message).where(Message.wamid == wamid)).first()
    if failed is None or failed.origin != COMMENT_ORIGIN or failed.status != FAILED or failed.error_code != WINDOW_CLOSED:
        return None
    comment_id, failed.crm_comment_id = failed.crm_comment_id, None
    session.flush()
    copy = Message(conversation_id=failed.conversation_id, direction="out", type="text", body=failed.body,
                   author=failed.author, crm_comment_id=comment_id, origin=COMMENT_ORIGIN, status=HELD,
                   timestamp=utcnow(), send_attempts=0)
    session.add(copy)
    session.flush()
    conversation = session.get(Conversation, failed.conversation_id)
    contact = session.get(WaContact, conversation.wa_contact_id)
    settings = settings_for_transaction(session, rt.config)
    hold(rt, session, conversation, contact, copy, settings, _ticket_of(rt, session, conversation))
    return copy
