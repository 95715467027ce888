"""A CRM record into the WhatsApp address book (the plugin's "Send Contact Record").

The address book is keyed by the number: the entry for the record's mobile is created, or
updated and linked to the record. A WhatsApp profile name Meta told us is kept; a new entry
takes the CRM name until the customer writes.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from wasb.contacts.service import find_contact
from wasb.contacts.tables import WaContact
from wasb.crm.port import Person
from wasb.domain.phones import InvalidPhone, e164_to_wa_id, to_e164
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings


class PushError(ValueError):
    """The record cannot go to the address book; the message says why."""


class PersonNotFound(PushError):
    pass


@dataclass
class PushResult:
    contact: WaContact
    created: bool
    relinked_from: str | None  # the CRM record the entry was linked to before, if another

    def view(self) -> dict:
        c = self.contact
        return {"created": self.created, "relinked_from": self.relinked_from,
                "contact": {"id": c.id, "wa_id": c.wa_id, "user_id": c.user_id, "phone": c.phone_e164,
                            "profile_name": c.profile_name, "person_id": c.crm_person_id, "kind": c.crm_kind}}


def push_to_address_book(session: Session, default_country: str, person: Person) -> PushResult:
    label = f"{person.kind} {person.id} ({person.name})"
    if not (person.mobile or "").strip():
        raise PushError(f"{label} has no mobile number; add one to send the record to WhatsApp")
    try:
        e164 = to_e164(person.mobile, default_country)
    except InvalidPhone as exc:
        raise PushError(f"the mobile {person.mobile!r} of {label} is not a usable number: {exc}") from None
    wa_id = e164_to_wa_id(e164)
    contact = find_contact(session, wa_id=wa_id)
    created = contact is None
    if contact is None:
        contact = WaContact(wa_id=wa_id, phone_e164=e164, profile_name=person.name)
        session.add(contact)
    previous = contact.crm_person_id if contact.crm_person_id not in (None, person.id) else None
    contact.crm_person_id, contact.crm_kind = person.id, person.kind
    contact.profile_name = contact.profile_name or person.name
    session.flush()
    return PushResult(contact, created, previous)


def push_person(rt: Runtime, session: Session, person_id: str) -> PushResult:
    person = rt.crm(session).get_person(person_id)
    if person is None:
        raise PersonNotFound(f"no person {person_id}")
    return push_to_address_book(session, rt.config.default_country, person)


def push_if_configured(session: Session, default_country: str, settings: AdminSettings,
                       person: Person) -> PushResult | None:
    """Process 3: a new record of a configured kind with a usable mobile joins the address book."""
    if not settings.process_contact_push or person.kind not in settings.contact_push_kinds:
        return None
    try:
        return push_to_address_book(session, default_country, person)
    except PushError:
        return None  # no usable mobile: nothing to push, and creating the record still succeeds
