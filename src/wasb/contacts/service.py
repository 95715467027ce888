"""The WhatsApp address book: find or create a customer's entry from what Meta tells us."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.domain.phones import InvalidPhone, wa_id_to_e164


# Built once: every inbound message looks its customer up.
_by_user_id = select(WaContact).where(WaContact.user_id == bindparam("user_id"))
_by_wa_id = select(WaContact).where(WaContact.wa_id == bindparam("wa_id"))


def find_contact(session: Session, *, wa_id: str | None = None, user_id: str | None = None) -> WaContact | None:
    if user_id:
        found = session.scalars(_by_user_id, {"user_id": user_id}).first()
        if found:
            return found
    if wa_id:
        return session.scalars(_by_wa_id, {"wa_id": wa_id}).first()
    return None


def upsert_contact(session: Session, *, wa_id: str | None, user_id: str | None,
                   profile_name: str | None = None, wrote_at: datetime | None = None) -> WaContact:
    """The entry for this customer, learning whatever new identity or name the webhook carries.

    `wrote_at`: the customer's message time, noted in the same write (the window reopens).
    """
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
    if wrote_at is not None:
        if contact.last_inbound_at is None or wrote_at > contact.last_inbound_at:
            contact.last_inbound_at = wrote_at
        contact.window_closed_at = None  # the customer wrote: Meta reopens the window
    if contact.id is None:
        session.flush()  # a new entry needs its id; changes to a known one go with the next flush
    return contact


def display_number(contact: WaContact) -> str:
    """How the plugin names a customer in conversation names: the wa_id, or the BSUID."""
    return contact.wa_id or contact.user_id or f"contact-{contact.id}"
