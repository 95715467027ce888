"""The WhatsApp address book: find or create a customer's entry from what Meta tells us."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.domain.phones import InvalidPhone, wa_id_to_e164


def find_contact(session: Session, *, wa_id: str | None = None, user_id: str | None = None) -> WaContact | None:
    if user_id:
        found = session.scalars(select(WaContact).where(WaContact.user_id == user_id)).first()
        if found:
            return found
    if wa_id:
        return session.scalars(select(WaContact).where(WaContact.wa_id == wa_id)).first()
    return None


def upsert_contact(session: Session, *, wa_id: str | None, user_id: str | None,
                   profile_name: str | None = None) -> WaContact:
    """The entry for this customer, learning whatever new identity or name the webhook carries."""
    contact = find_contact(session, wa_id=wa_id, user_id=user_id)
    if contact is None:
        contact = WaContact()
        session.add(contact)
    if user_id and not contact.user_id:
        contact.user_id = user_id
    if wa_id and not contact.wa_id:
        contact.wa_id = wa_id
        try:
            contact.phone_e164 = wa_id_to_e164(wa_id)
        except InvalidPhone:
            contact.phone_e164 = None
    if profile_name and profile_name != contact.profile_name:
        contact.profile_name = profile_name
    session.flush()
    return contact


def display_number(contact: WaContact) -> str:
    """How the plugin names a customer in conversation names: the wa_id, or the BSUID."""
    return contact.wa_id or contact.user_id or f"contact-{contact.id}"
