"""Consent: whether a customer accepts marketing templates, on their address-book entry.

A customer opts out (or back in) by writing a keyword (the whole message, any case), an
agent by hand, Meta by refusing a send with 131050 ("the user stopped marketing messages"),
or the CRM through the checkbox field an admin named (syncCustomers reads it). Every change
is written to the audit log with its source, and the CRM's field is kept equal to it.
Opted-out customers still get service replies and utility / authentication templates; the
sender refuses marketing templates before they reach Meta (`wasb.outbound.service`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.audit.service import record_change
from wasb.contacts.tables import WaContact
from wasb.crm.port import CRM, CRMAuthError, CRMNotFound, CRMUnavailable
from wasb.hooks.service import CONSENT_CHANGED, emit
from wasb.jobs.queue import Task
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings, settings_for_transaction
from wasb.store.base import utcnow

log = logging.getLogger(__name__)

Source = Literal["keyword", "agent", "meta_error", "crm"]
KEYWORD: Source = "keyword"
AGENT: Source = "agent"
META_ERROR: Source = "meta_error"
FROM_CRM: Source = "crm"
SOURCES: tuple[Source, ...] = (KEYWORD, AGENT, META_ERROR, FROM_CRM)
# Meta's code for a marketing template to someone who stopped marketing messages in WhatsApp.
STOPPED_MARKETING = 131050
# The template categories an opted-out customer still receives (Meta's own split).
MARKETING = "MARKETING"


@dataclass(frozen=True)
class KeywordMatch:
    opted_out: bool  # an opt-out word (True) or a word to come back (False)
    language: str    # the language whose list has the word: the reply's language


def match_keyword(settings: AdminSettings, text: str | None) -> KeywordMatch | None:
    """The keyword a customer's whole message is, if it is one (trimmed, any case, inner
    spaces counted once: "stop  all" is STOP ALL)."""
    said = " ".join((text or "").split()).casefold()
    if not said or len(said) > 64:
        return None
    for opted_out, table in ((True, settings.opt_out_keywords), (False, settings.opt_in_keywords)):
        languages = [lang for lang, words in table.items() if said in {w.casefold() for w in words}]
        if languages:
            default = settings.consent_default_language
            return KeywordMatch(opted_out, default if default in languages else languages[0])
    return None


def confirmation_text(settings: AdminSettings, match: KeywordMatch) -> str | None:
    """The reply in the keyword's language, else the default language's, else any."""
    replies = settings.opt_out_replies if match.opted_out else settings.opt_in_replies
    return (replies.get(match.language) or replies.get(settings.consent_default_language)
            or next(iter(replies.values()), None))


def consent_view(contact: WaContact | None) -> dict:
    """What the API and the agent see: opted out or not, since when, and why."""
    if contact is None:
        return {"marketing_opted_out": False, "changed_at": None, "source": None}
    return {"marketing_opted_out": bool(contact.marketing_opted_out), "changed_at": contact.opt_changed_at,
            "source": contact.opt_source}


def set_marketing_consent(rt: Runtime, session: Session, contact: WaContact, *, opted_out: bool, source: Source,
                          actor: str, at: datetime | None = None) -> bool:
    """Opt the customer out of marketing (or back in). False when they already were: nothing
    is written. The CRM's field follows, unless the CRM is where the change came from."""
    changed = record_consent(session, contact, opted_out=opted_out, source=source, actor=actor, at=at)
    if changed and source != FROM_CRM and contact.crm_person_id:
        tell_crm(rt, session, contact.crm_person_id)
    return changed


def record_consent(session: Session, contact: WaContact, *, opted_out: bool, source: Source, actor: str,
                   at: datetime | None = None) -> bool:
    """The change on the entry and in the audit log (with its source), and nothing else."""
    if source not in SOURCES:
        raise ValueError(f"unknown consent source {source!r}; one of {', '.join(SOURCES)}")
    if bool(contact.marketing_opted_out) == opted_out:
        return False
    at = at or utcnow()
    record_change(session, actor=actor, entity="wa_contact", entity_id=contact.id, field="marketing_opted_out",
                  old=bool(contact.marketing_opted_out), new=opted_out, at=at)
    record_change(session, actor=actor, entity="wa_contact", entity_id=contact.id, field="opt_source",
                  old=contact.opt_source, new=source, at=at)
    contact.marketing_opted_out, contact.opt_changed_at, contact.opt_source = opted_out, at, source
    session.flush()
    emit(session, CONSENT_CHANGED, {"contact_id": contact.id, "wa_id": contact.wa_id, "crm_person_id":
                                    contact.crm_person_id, "marketing_opted_out": opted_out, "source": source,
                                    "at": at})
    log.info("customer %s opted %s of marketing (%s)", contact.id, "out" if opted_out else "in", source)
    return True


def tell_crm(rt: Runtime, session: Session, person_id: str) -> None:
    """The admin's CRM field takes the person's consent: in this transaction with the
    embedded CRM, by a job of its own (retried while the CRM is down) with an external one."""
    settings = settings_for_transaction(session, rt.config)
    if not settings.consent_crm_field:
        return
    if rt.crm_policy.in_transaction:
        write_crm_field(rt.crm(session), session, settings, person_id)
    else:
        rt.queue.enqueue(session, CRM_FIELD_TASK, {"person_id": person_id}, lock=f"consent:{person_id}",
                         ref=f"person:{person_id}")


def person_opted_out(session: Session, person_id: str) -> bool:
    """A person is opted out when any of their WhatsApp entries is."""
    return bool(session.scalar(select(WaContact.id).where(WaContact.crm_person_id == person_id,
                                                          WaContact.marketing_opted_out.is_(True)).limit(1)))


def write_crm_field(crm: CRM, session: Session, settings: AdminSettings, person_id: str) -> None:
    """The state as it is now (a job run late writes the latest, not the one that queued it)."""
    try:
        crm.set_person_flag(person_id, settings.consent_crm_field, person_opted_out(session, person_id))
    except CRMNotFound:
        log.info("consent not written to the CRM: person %s is gone", person_id)


def _crm_field_job(rt: Runtime, session: Session, payload: dict) -> None:
    settings = settings_for_transaction(session, rt.config)
    if settings.consent_crm_field:
        write_crm_field(rt.crm_policy.crm_for_job(session, rt.crm(session)), session, settings, payload["person_id"])


CRM_FIELD_TASK = "contacts.consent_to_crm"
# The CRM down or refusing our credentials: the write waits, nothing is given up.
CRM_FIELD = Task(name=CRM_FIELD_TASK, run=_crm_field_job, max_attempts=8, calls_crm=True,
                 wait_on=(CRMUnavailable, CRMAuthError))


def entries_of(session: Session, person_id: str) -> list[WaContact]:
    return list(session.scalars(select(WaContact).where(WaContact.crm_person_id == person_id).order_by(WaContact.id)))


def person_consent(session: Session, person_id: str) -> dict:
    """A CRM person's consent as the API shows it: their WhatsApp entry's (the opted-out one
    when they have several)."""
    entries = entries_of(session, person_id)
    shown = next((e for e in entries if e.marketing_opted_out), entries[0] if entries else None)
    return consent_view(shown)
