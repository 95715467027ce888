"""CRM records created from WASB: the mobile is read in any writing and written with the
configured prefix, so matching works whatever the agent typed."""
from __future__ import annotations

import re

from sqlalchemy.orm import Session

from wasb.audit.service import record_change
from wasb.config import Config
from wasb.contacts.push import push_if_configured
from wasb.crm.port import CRM, NewPerson, Person, PersonKind
from wasb.domain.phones import to_e164, with_prefix
from wasb.settings.service import AdminSettings


def create_person(crm: CRM, config: Config, settings: AdminSettings, *, kind: PersonKind, name: str,
                  mobile: str | None, email: str | None = None, company: str | None = None,
                  assigned_user: str | None = None, session: Session | None = None) -> Person:
    """Raises InvalidPhone for an unreadable number and DuplicateMobile when it is taken.

    With the service `session`, a new record of a kind the contact-push process covers
    (`contact_push_kinds`) joins the WhatsApp address book in the same transaction."""
    written = with_prefix(to_e164(mobile, config.default_country), settings.phone_prefix) if mobile else None
    person = crm.create_person(NewPerson(kind=kind, name=name.strip(), mobile=written, email=email or None,
                                         company=company or None,
                                         assigned_user=assigned_user or settings.reference_user or None))
    if session is not None:
        push_if_configured(session, config.default_country, settings, person)
    return person


def find_people(crm: CRM, config: Config, phone: str) -> list[Person]:
    return crm.find_people_by_phone(to_e164(phone, config.default_country))


class InvalidEmail(ValueError):
    pass


# What a person can type and a CRM's e-mail field keeps: one @, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def edit_person(crm: CRM, config: Config, settings: AdminSettings, person_id: str, *, name: str,
                mobile: str | None, email: str | None = None, company: str | None = None,
                session: Session | None = None, actor: str | None = None, current: Person | None = None) -> Person:
    """The same number rule as creating: any writing in, E.164 checked, the prefix written.
    An empty mobile removes it; `email` and `company` are written when given ("" empties
    them; a company is a lead's only). With the service `session`, each changed field is
    recorded in the audit log under `actor`, against `current` (the record as the caller read
    it, else read here). Raises InvalidPhone, InvalidEmail,
    DuplicateMobile, CRMNotFound, CRMError."""
    written = with_prefix(to_e164(mobile, config.default_country), settings.phone_prefix) if mobile else ""
    if email is not None:
        email = email.strip()
        if email and not _EMAIL.match(email):
            raise InvalidEmail(f"“{email}” is not an e-mail address")
    before = (current or crm.get_person(person_id)) if session is not None else None
    after = crm.update_person(person_id, name=name.strip(), mobile=written, email=email,
                              company=None if company is None else company.strip())
    if before is not None:
        for field in ("name", "mobile", "email", "company"):
            old, new = getattr(before, field), getattr(after, field)
            if (old or None) != (new or None):
                record_change(session, actor=actor or "wasb", entity="crm_person", entity_id=person_id,
                              field=field, old=old, new=new)
    return after
