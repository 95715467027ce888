"""Consent from WhatsApp: a customer's keyword (STOP, ANNULLA…, START to come back) and
Meta's 131050 on a failed status both set the customer's marketing consent
(`wasb.contacts.consent`); a keyword is answered with a confirmation in its language."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.contacts.consent import KEYWORD, META_ERROR, STOPPED_MARKETING, confirmation_text, match_keyword, \
    set_marketing_consent
from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message
from wasb.inbound.messages import Received
from wasb.outbound.service import OutboundError, Outgoing, queue_message
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings
from wasb.whatsapp.webhook import Item, first_error

log = logging.getLogger(__name__)

# What the confirmation is marked with (the thread shows it as the system's, not an agent's).
CONSENT_ORIGIN = "consent"


def answer_keyword(rt: Runtime, session: Session, settings: AdminSettings, item: Item,
                   received: Received | None) -> bool:
    """A text that is, as a whole, a consent keyword: the customer's consent changes, and a
    confirmation goes out (the customer just wrote: the window is open). Any other message
    costs no statement. Whether the message was a keyword."""
    if received is None or received.type != "text":
        return False
    match = match_keyword(settings, (item.data.get("text") or {}).get("body"))
    if match is None:
        return False
    contact = session.get(WaContact, received.contact_id, populate_existing=True)
    set_marketing_consent(rt, session, contact, opted_out=match.opted_out, source=KEYWORD, actor="customer")
    text = confirmation_text(settings, match)
    if not text:
        return True
    conversation_id = session.scalar(select(Message.conversation_id).where(Message.id == received.message_id))
    try:
        queue_message(rt, session, conversation_id, Outgoing(type="text", body=text, origin=CONSENT_ORIGIN,
                                                             mirror=False), author=None)
    except OutboundError as exc:  # an old message delivered late, its window closed: the consent stands
        log.info("consent confirmation not sent to customer %s: %s", contact.id, exc)
    return True


def stopped_marketing(rt: Runtime, session: Session, item: Item) -> None:
    """A failed status with 131050: the customer stopped marketing messages in WhatsApp."""
    code, _ = first_error(item.data.get("errors"))
    wamid = item.data.get("id")
    if code != STOPPED_MARKETING or not wamid:
        return
    contact = session.scalars(select(WaContact).join(Conversation, Conversation.wa_contact_id == WaContact.id)
                              .join(Message, Message.conversation_id == Conversation.id)
                              .where(Message.wamid == wamid)).first()
    if contact is not None:
        set_marketing_consent(rt, session, contact, opted_out=True, source=META_ERROR, actor="meta")
