"""A customer changed their WhatsApp number (Meta's `system` message `user_changed_number`),
or their business-scoped user id (`user_changed_user_id`, no number shared).

The address-book entry follows them to the new number, so their conversation, ticket and
CRM record stay theirs; the CRM record's mobile is updated through the CRM port, and each
step is in the audit log (old → new). What cannot follow (the new number is already
another customer's, the CRM refuses the mobile) is recorded in the audit log instead, for
an admin to settle: nothing is guessed, and the message is still shown. A user id change
moves only the address-book entry's `user_id` (the CRM keeps no BSUID), audited the same way.
"""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from wasb.audit.service import record_change
from wasb.contacts.service import find_contact, phone_of
from wasb.contacts.tables import WaContact
from wasb.crm.port import CRM, CRMAuthError, CRMError, CRMUnavailable
from wasb.domain.phones import same_number, with_prefix
from wasb.store.base import utcnow

log = logging.getLogger(__name__)

ACTOR = "whatsapp:number_change"
USER_ID_ACTOR = "whatsapp:user_id_change"
# The audit field of a change the CRM did not take (an admin's to settle).
CRM_NOT_UPDATED = "mobile_not_updated"


def follow_number(session: Session, crm: CRM, *, old_wa_id: str, new_wa_id: str, phone_prefix: str,
                  default_country: str) -> bool:
    """Move the customer's entry from the old number to the new one, then their CRM mobile.
    False when the entry cannot move (the new number is another customer's): the message
    then stays with the old number's customer.

    Safe to run again (a retried job): an entry already moved is left as it is, and the
    CRM is only written when its mobile is not the new number yet.
    """
    contact = find_contact(session, wa_id=old_wa_id)
    holder = find_contact(session, wa_id=new_wa_id)
    if contact is not None and holder is not None and holder.id != contact.id:
        record_change(session, actor=ACTOR, entity="wa_contact", entity_id=contact.id, field="wa_id",
                      old=old_wa_id, new=f"not moved: +{new_wa_id} is already address-book entry {holder.id}")
        return False
    if contact is not None:
        _move(session, contact, old_wa_id, new_wa_id)
    else:
        contact = holder  # moved by an earlier attempt, or never known
    if contact is None or not contact.crm_person_id:
        return True
    new_e164 = phone_of(new_wa_id)
    if new_e164 is None:
        return True
    person = crm.get_person(contact.crm_person_id)
    if person is None:
        record_change(session, actor=ACTOR, entity="crm_person", entity_id=contact.crm_person_id,
                      field=CRM_NOT_UPDATED, old=None, new=f"+{new_wa_id}: the CRM record is gone")
        return True
    if same_number(person.mobile, new_e164, default_country):
        return True
    mobile = with_prefix(new_e164, phone_prefix)
    try:
        crm.update_person(person.id, mobile=mobile)
    except (CRMUnavailable, CRMAuthError):
        raise  # the CRM not answering: the job waits and tries again
    except CRMError as exc:  # it refused this mobile (held by another record, gone...)
        log.warning("number change of %s: the CRM record %s kept its mobile: %s", old_wa_id, person.id, exc)
        record_change(session, actor=ACTOR, entity="crm_person", entity_id=person.id, field=CRM_NOT_UPDATED,
                      old=person.mobile, new=f"{mobile}: {exc}")
        return True
    record_change(session, actor=ACTOR, entity="crm_person", entity_id=person.id, field="mobile",
                  old=person.mobile, new=mobile)
    return True


def _move(session: Session, contact: WaContact, old_wa_id: str, new_wa_id: str) -> None:
    old_phone = contact.phone_e164
    contact.wa_id, contact.phone_e164, contact.modified_at = new_wa_id, phone_of(new_wa_id), utcnow()
    record_change(session, actor=ACTOR, entity="wa_contact", entity_id=contact.id, field="wa_id",
                  old=old_wa_id, new=new_wa_id)
    record_change(session, actor=ACTOR, entity="wa_contact", entity_id=contact.id, field="phone_e164",
                  old=old_phone, new=contact.phone_e164)
    session.flush()


def follow_user_id(session: Session, *, old_user_id: str, new_user_id: str, wa_id: str | None) -> bool:
    """Move the customer's entry from the old BSUID to the new one (found by the old id, or by
    the number when the message names one). False when the new id is another customer's: the
    message then stays with the old id's customer. Safe to run again (a moved entry is found
    by its new id and left as it is)."""
    contact = find_contact(session, user_id=old_user_id)
    if contact is None and wa_id:
        contact = find_contact(session, wa_id=wa_id)
    holder = find_contact(session, user_id=new_user_id)
    if contact is not None and holder is not None and holder.id != contact.id:
        record_change(session, actor=USER_ID_ACTOR, entity="wa_contact", entity_id=contact.id, field="user_id",
                      old=old_user_id, new=f"not moved: {new_user_id} is already address-book entry {holder.id}")
        return False
    if contact is not None and holder is None:
        contact.user_id, contact.modified_at = new_user_id, utcnow()
        record_change(session, actor=USER_ID_ACTOR, entity="wa_contact", entity_id=contact.id, field="user_id",
                      old=old_user_id, new=new_user_id)
        session.flush()
    return True
