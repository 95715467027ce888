"""A customer's message: find the customer, the CRM record, the conversation, the ticket."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from wasb.config import Config
from wasb.contacts.service import display_number, upsert_contact
from wasb.contacts.tables import WaContact
from wasb.conversations.service import find_open_conversation
from wasb.conversations.tables import OPEN, Conversation, Message
from wasb.conversations.tickets import usable_ticket
from wasb.crm.port import CRM, Comment, NewPerson, Person, Ticket
from wasb.domain.naming import conversation_name
from wasb.domain.phones import with_prefix
from wasb.domain.rendering import render_message
from wasb.domain.statuses import RECEIVED
from wasb.jobs.queue import JobQueue
from wasb.media.downloads import request_download
from wasb.settings.service import AdminSettings
from wasb.tickets.service import is_ticket_opened_by, record_customer_message, same_comment_text
from wasb.whatsapp.messages import MEDIA_KINDS
from wasb.whatsapp.webhook import Item, first_error, message_time


@dataclass
class Inbound:
    """What processing one customer's items needs, gathered once per job.

    The steps are recorded as they go (the message stored `crm_pending` before the
    ticket is written, then each CRM id), so a retry resumes after the last recorded
    step. Whether the job commits between the steps is the job's CRM call policy
    (`wasb.runtime`): with an external CRM it commits before every CRM call; with the
    embedded CRM the whole job is one transaction and nothing is ever half done.
    """

    session: Session
    crm: CRM
    config: Config
    settings: AdminSettings
    queue: JobQueue


@dataclass
class Received:
    """A message stored, and the customer who wrote it (their held comments go out next)."""

    message: Message
    contact: WaContact


# Built once: these run for every message, and building a statement costs about as
# much as running it.
_by_wamid = select(Message).where(Message.wamid == bindparam("wamid"))
def receive_message(ctx: Inbound, item: Item) -> Received | None:
    data = item.data
    wamid = data.get("id")
    known = ctx.session.scalars(_by_wamid, {"wamid": wamid}).first() if wamid else None
    if known is not None:
        if known.crm_pending:
            # An earlier attempt stored it, then the CRM failed part-way: finish the
            # CRM steps it did not record, and only those.
            _resume_crm_steps(ctx, known, render_message(data))
            conversation = ctx.session.get(Conversation, known.conversation_id)
            return Received(known, ctx.session.get(WaContact, conversation.wa_contact_id))
        return None  # delivered before: applying it again would duplicate comments
    at = message_time(data)
    contact = upsert_contact(ctx.session, wa_id=item.wa_id, user_id=item.user_id, profile_name=item.profile_name,
                             wrote_at=at)
    conversation = open_conversation(ctx, contact, item.phone_number_id, at)
    message = _new_message(conversation, item, at)
    writes_ticket = (message.type != "reaction" and conversation.association_error is None
                     and bool(conversation.crm_person_id) and ctx.settings.auto_ticket)
    if writes_ticket:
        # Stored and marked pending before the ticket is written: should the job stop
        # part-way (an external CRM failing between committed steps), a retry resumes
        # the steps not recorded.
        message.crm_pending = True
        _store_message(ctx, message)
        _update_ticket(ctx, contact, conversation, message, render_message(data), at, resuming=False)
        return Received(message, contact)
    _store_message(ctx, message)
    if message.type == "reaction":
        _apply_reaction(ctx.session, data)
    return Received(message, contact)


def _resume_crm_steps(ctx: Inbound, message: Message, text: str) -> None:
    conversation = ctx.session.get(Conversation, message.conversation_id)
    contact = ctx.session.get(WaContact, conversation.wa_contact_id)
    if conversation.association_error is not None or not conversation.crm_person_id:
        message.crm_pending = False
        return
    if message.crm_comment_id is not None:
        # The comment is written; only the status that follows it failed.
        ctx.crm.set_ticket_status(conversation.ticket_id, ctx.settings.status_answered)
        message.crm_pending = False
        return
    _update_ticket(ctx, contact, conversation, message, text, message.timestamp, resuming=True)


def match_person(ctx: Inbound, contact: WaContact) -> tuple[Person | None, str | None]:
    """The CRM record of this customer, created as a lead when there is none.

    Returns (person, association error). With several candidates nothing is guessed.
    """
    if contact.crm_person_id:
        linked = ctx.crm.get_person(contact.crm_person_id)
        if linked is not None:
            return linked, None
    candidates = ctx.crm.find_people_by_phone(contact.phone_e164) if contact.phone_e164 else []
    if len(candidates) > 1:
        names = ", ".join(f"{p.kind} {p.id} ({p.name})" for p in candidates)
        return None, f"{len(candidates)} CRM records have the number {contact.phone_e164}: {names}"
    person = candidates[0] if candidates else ctx.crm.create_person(NewPerson(
        kind="lead",
        name=contact.profile_name or (contact.phone_e164 or display_number(contact)),
        mobile=with_prefix(contact.phone_e164, ctx.settings.phone_prefix) if contact.phone_e164 else None,
        company=contact.profile_name or None,
        assigned_user=ctx.settings.reference_user or None,
    ))
    contact.crm_person_id, contact.crm_kind = person.id, person.kind
    return person, None


def open_conversation(ctx: Inbound, contact: WaContact, phone_number_id: str, at: datetime) -> Conversation:
    """The customer's open conversation on this number, or a new one."""
    conversation = find_open_conversation(ctx.session, contact.id, phone_number_id)
    if conversation is None:
        person, problem = match_person(ctx, contact)
        conversation = Conversation(
            name=conversation_name(at, display_number(contact), ctx.config.tz), phone_number_id=phone_number_id,
            wa_contact_id=contact.id, crm_person_id=person.id if person else None, status=OPEN, started_at=at,
            association_error=problem, unread=0)
        ctx.session.add(conversation)
        ctx.session.flush()
    conversation.unread = (conversation.unread or 0) + 1
    conversation.last_message_at = max(filter(None, [conversation.last_message_at, at]))
    conversation.last_inbound_at = max(filter(None, [conversation.last_inbound_at, at]))
    return conversation


def _new_message(conversation: Conversation, item: Item, at: datetime) -> Message:
    """The row of an inbound message, not yet in the session."""
    data = item.data
    kind = data.get("type") or "unknown"
    body = data.get(kind) if isinstance(data.get(kind), dict) else {}
    error_code, error_message = first_error(data.get("errors") or item.value_errors)
    text = body.get("body") if kind == "text" else body.get("caption")
    if kind not in ("text",) + MEDIA_KINDS:
        text = render_message(data)
    message = Message(
        wamid=data.get("id"), conversation_id=conversation.id, direction="in", type=kind, body=text,
        media_id=body.get("id") if kind in MEDIA_KINDS else None,
        media_mime=body.get("mime_type") if kind in MEDIA_KINDS else None,
        media_filename=body.get("filename") if kind in MEDIA_KINDS else None,
        media_sha256=body.get("sha256") if kind in MEDIA_KINDS else None,
        reply_to_wamid=(data.get("context") or {}).get("id"),
        status=RECEIVED, timestamp=at,
        error_code=error_code, error_message=error_message,
        raw=data,
    )
    return message


def _store_message(ctx: Inbound, message: Message) -> None:
    ctx.session.add(message)
    if message.media_id:
        ctx.session.flush()  # the download job names the message by id
        request_download(ctx.session, ctx.queue, message)  # its own job: never blocks or repeats this message


def _apply_reaction(session: Session, data: dict) -> None:
    reaction = data.get("reaction") or {}
    target_wamid = reaction.get("message_id")
    if not target_wamid:
        return
    target = session.scalars(select(Message).where(Message.wamid == target_wamid)).first()
    if target is not None:
        target.reaction = reaction.get("emoji") or None  # no emoji: the customer removed it


def _update_ticket(ctx: Inbound, contact: WaContact, conversation: Conversation, message: Message, text: str,
                   at: datetime, *, resuming: bool) -> None:
    person_id = conversation.crm_person_id
    ticket = usable_ticket(ctx.crm, ctx.settings, conversation.ticket_id, person_id)
    number = with_prefix(contact.phone_e164, ctx.settings.phone_prefix) if contact.phone_e164 else display_number(contact)
    if resuming and ticket is not None and _already_written(ctx, conversation, message, ticket, number, text, at):
        return

    def comment_written(written_on: Ticket, comment: Comment) -> None:
        conversation.ticket_id = written_on.id
        message.crm_comment_id = comment.id  # committed before the status is written

    update = record_customer_message(
        ctx.crm, ctx.settings, ctx.config.tz, ticket=ticket, person_id=person_id,
        customer_name=contact.profile_name or number, number_with_prefix=number, text=text, at=at,
        on_comment=comment_written)
    conversation.ticket_id = update.ticket.id
    message.crm_comment_id = update.comment_id
    message.crm_pending = False


def _already_written(ctx: Inbound, conversation: Conversation, message: Message, ticket: Ticket, number: str,
                     text: str, at: datetime) -> bool:
    """After a failure whose cause may have been a lost answer (a timeout), look in the
    CRM before writing again: the ticket this message opened, or its comment."""
    if ticket.id != conversation.ticket_id and is_ticket_opened_by(ticket, at, number, ctx.config.tz):
        conversation.ticket_id = ticket.id
        message.crm_pending = False
        return True
    # Comments already known as other messages (the customer may send "ok" twice).
    recorded = set(ctx.session.scalars(
        select(Message.crm_comment_id).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.ticket_id == ticket.id, Message.crm_comment_id.is_not(None))))
    for comment in ctx.crm.list_comments(ticket.id):
        if comment.customer_name and comment.id not in recorded and same_comment_text(comment.body, text):
            conversation.ticket_id, message.crm_comment_id = ticket.id, comment.id
            ctx.crm.set_ticket_status(ticket.id, ctx.settings.status_answered)
            message.crm_pending = False
            return True
    return False
