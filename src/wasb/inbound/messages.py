"""A customer's message: find the customer, the CRM record, the conversation, the ticket."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.config import Config
from wasb.contacts.service import display_number, upsert_contact
from wasb.contacts.tables import WaContact
from wasb.conversations.tables import OPEN, Conversation, Message
from wasb.crm.port import CRM, NewPerson, Person
from wasb.domain.naming import conversation_name
from wasb.domain.phones import with_prefix
from wasb.domain.rendering import render_message
from wasb.domain.statuses import RECEIVED
from wasb.inbound.envelope import Item
from wasb.media.downloads import request_download
from wasb.settings.service import AdminSettings
from wasb.store.base import utcnow
from wasb.tickets.service import record_customer_message, usable_ticket

MEDIA_KINDS = ("image", "document", "audio", "video", "sticker")


@dataclass
class Inbound:
    """What processing one customer's items needs, gathered once per job."""

    session: Session
    crm: CRM
    config: Config
    settings: AdminSettings


def message_time(data: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(data.get("timestamp")), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return utcnow()


def receive_message(ctx: Inbound, item: Item) -> Message | None:
    data = item.data
    wamid = data.get("id")
    if wamid and ctx.session.scalar(select(Message.id).where(Message.wamid == wamid)) is not None:
        return None  # delivered before: applying it again would duplicate comments
    at = message_time(data)
    contact = upsert_contact(ctx.session, wa_id=item.wa_id, user_id=item.user_id, profile_name=item.profile_name)
    _note_inbound(contact, at)
    conversation = open_conversation(ctx, contact, item.phone_number_id, at)
    message = _store_message(ctx.session, conversation, item, at)
    if message.type == "reaction":
        _apply_reaction(ctx.session, data)
        return message
    if conversation.association_error is None and conversation.crm_person_id and ctx.settings.auto_ticket:
        _update_ticket(ctx, contact, conversation, message, render_message(data), at)
    return message


def _note_inbound(contact: WaContact, at: datetime) -> None:
    if contact.last_inbound_at is None or at > contact.last_inbound_at:
        contact.last_inbound_at = at
    contact.window_closed_at = None  # the customer wrote: Meta reopens the window


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
    conversation = ctx.session.scalars(
        select(Conversation).where(Conversation.wa_contact_id == contact.id, Conversation.status == OPEN,
                                   Conversation.phone_number_id == phone_number_id)
        .order_by(Conversation.id.desc())).first()
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


def _store_message(session: Session, conversation: Conversation, item: Item, at: datetime) -> Message:
    data = item.data
    kind = data.get("type") or "unknown"
    body = data.get(kind) if isinstance(data.get(kind), dict) else {}
    errors = data.get("errors") or item.value_errors or []
    first_error = errors[0] if errors and isinstance(errors[0], dict) else {}
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
        error_code=first_error.get("code"),
        error_message=((first_error.get("error_data") or {}).get("details") or first_error.get("message")
                       or first_error.get("title")),
        raw=data,
    )
    session.add(message)
    session.flush()
    request_download(session, message)  # its own job: never blocks or repeats this message
    return message


def _apply_reaction(session: Session, data: dict) -> None:
    reaction = data.get("reaction") or {}
    target_wamid = reaction.get("message_id")
    if not target_wamid:
        return
    target = session.scalars(select(Message).where(Message.wamid == target_wamid)).first()
    if target is not None:
        target.reaction = reaction.get("emoji") or None  # no emoji: the customer removed it


def _update_ticket(ctx: Inbound, contact: WaContact, conversation: Conversation, message: Message, text: str,
                   at: datetime) -> None:
    person_id = conversation.crm_person_id
    ticket = usable_ticket(ctx.crm, ctx.settings, conversation.ticket_id, person_id)
    number = with_prefix(contact.phone_e164, ctx.settings.phone_prefix) if contact.phone_e164 else display_number(contact)
    update = record_customer_message(
        ctx.crm, ctx.settings, ctx.config.tz, ticket=ticket, person_id=person_id,
        customer_name=contact.profile_name or number, number_with_prefix=number, text=text, at=at)
    conversation.ticket_id = update.ticket.id
    message.crm_comment_id = update.comment_id
