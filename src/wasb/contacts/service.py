"""The WhatsApp address book: find or create a customer's entry from what Meta tells us."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.domain.phones import InvalidPhone, wa_id_to_e164
from wasb.store.base import utcnow
from wasb.store.upsert import insert_or_nothing


# Built once: the contact push looks customers up by either identity.
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


@dataclass(frozen=True)
class WriterRow:
    """The address-book entry of a customer who just wrote, as the inbound worker needs it."""

    id: int
    wa_id: str | None
    user_id: str | None
    phone_e164: str | None
    profile_name: str | None
    crm_person_id: str | None
    crm_kind: str | None
    campaign_sent_at: datetime | None  # a campaign's message went to them, not answered yet
    created: bool  # written by this message: it has no conversation yet


_contacts = WaContact.__table__
_c = _contacts.c
_WRITER_COLUMNS = (_c.id, _c.wa_id, _c.user_id, _c.phone_e164, _c.profile_name, _c.crm_person_id, _c.crm_kind,
                   _c.campaign_sent_at)
_at = bindparam("at", type_=_c.last_inbound_at.type)
_now = bindparam("stamp", type_=_c.modified_at.type)
_wa_id = bindparam("given_wa_id", type_=_c.wa_id.type)
_user_id = bindparam("given_user_id", type_=_c.user_id.type)
# Built once: every inbound message runs it. One statement finds the customer (by the user
# id first, as `find_contact`) and notes what the webhook tells: an identity the entry
# lacks, a new profile name, the message time (the window reopens). The right-hand sides
# read the row as it was.
_wrote = (
    _contacts.update()
    .where(_c.id == func.coalesce(
        select(_c.id).where(_c.user_id == _user_id).scalar_subquery(),
        select(_c.id).where(_c.wa_id == _wa_id).scalar_subquery()))
    .values(user_id=func.coalesce(_c.user_id, _user_id),
            wa_id=func.coalesce(_c.wa_id, _wa_id),
            phone_e164=case((_c.wa_id.is_(None) & func.coalesce(_wa_id, _c.wa_id).is_not(None),
                             bindparam("given_e164", type_=_c.phone_e164.type)), else_=_c.phone_e164),
            profile_name=func.coalesce(bindparam("given_name", type_=_c.profile_name.type), _c.profile_name),
            last_inbound_at=case((_c.last_inbound_at.is_(None) | (_c.last_inbound_at < _at), _at),
                                 else_=_c.last_inbound_at),
            window_closed_at=None, modified_at=_now)
    .returning(*_WRITER_COLUMNS))


def customer_wrote(session: Session, *, wa_id: str | None, user_id: str | None, profile_name: str | None,
                   at: datetime) -> WriterRow | None:
    """A customer's message, on their address-book entry, in one statement: the known
    customer's entry, updated; None when there is none yet (the caller links the CRM
    record, then `add_writer`)."""
    row = session.execute(_wrote, {"given_user_id": user_id, "given_wa_id": wa_id, "given_e164": phone_of(wa_id),
                                   "given_name": profile_name or None, "at": at, "stamp": utcnow()}).first()
    return WriterRow(*row, created=False) if row is not None else None




def add_writer(session: Session, *, wa_id: str | None, user_id: str | None, profile_name: str | None,
               at: datetime, crm_person_id: str | None, crm_kind: str | None) -> WriterRow:
    """A new customer's entry, already linked to their CRM record (one INSERT). Should
    another writer have added the entry meanwhile (PostgreSQL: a sync), that one is used."""
    now = utcnow()
    add = insert_or_nothing(session.get_bind().dialect.name, _contacts, _WRITER_COLUMNS)
    row = session.execute(add, {
        "wa_id": wa_id, "user_id": user_id, "phone_e164": phone_of(wa_id), "profile_name": profile_name or None,
        "crm_person_id": crm_person_id, "crm_kind": crm_kind, "last_inbound_at": at, "created_at": now,
        "modified_at": now}).first()
    if row is not None:
        return WriterRow(*row, created=True)
    known = customer_wrote(session, wa_id=wa_id, user_id=user_id, profile_name=profile_name, at=at)
    assert known is not None  # the conflict was with this customer's entry
    return known


_link = _contacts.update().where(_c.id == bindparam("contact")).values(
    crm_person_id=bindparam("person"), crm_kind=bindparam("kind"), modified_at=bindparam("stamp"))


def link_person(session: Session, contact_id: int, person_id: str, kind: str) -> None:
    session.execute(_link, {"contact": contact_id, "person": person_id, "kind": kind, "stamp": utcnow()})


def phone_of(wa_id: str | None) -> str | None:
    if not wa_id:
        return None
    try:
        return wa_id_to_e164(wa_id)
    except InvalidPhone:
        return None


def named_number(contact: WaContact | WriterRow) -> str:
    """The number in a conversation's name: written as the ticket writes it (+39…), so the
    two read the same; a customer known only by a BSUID is named by it."""
    return contact.phone_e164 or display_number(contact)


def display_number(contact: WaContact | WriterRow) -> str:
    """How the plugin names a customer in conversation names: the wa_id, or the BSUID."""
    return contact.wa_id or contact.user_id or f"contact-{contact.id}"
