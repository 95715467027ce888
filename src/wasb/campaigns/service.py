"""Campaigns, the agent's side: prepare one (audience, parameters, preview, cost), then start,
pause, resume or cancel it, and follow it (progress, report).

A campaign is prepared whole before it can start: every recipient row is written with its
parameters, the excluded ones with their reason, so the preview, the counts and the estimate
are what will be sent. Starting it queues one dispatch job (`wasb.campaigns.dispatch`), which
hands the recipients to the sender a few at a time."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from wasb.audit.service import record_change
from wasb.campaigns.audience import (
    AudienceError, check_sources, classify, crm_candidates, csv_candidates,
)
from wasb.campaigns.header import HeaderFileError, check_header_file, store_header_file
from wasb.campaigns.tables import (
    CANCELLED, DRAFT, EXCLUDED, PAUSED, PENDING, QUEUED, REFUSED, RUNNING, SKIPPED, Campaign, CampaignRecipient,
)
from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message
from wasb.crm.mapping import MappingError
from wasb.crm.port import PERSON_KINDS, CRMError, PersonKind
from wasb.domain.pricing import price_of
from wasb.domain.statuses import DELIVERED, FAILED, QUEUED as MESSAGE_QUEUED, READ, SENDING, SENT
from wasb.jobs.queue import TODO
from wasb.outbound.service import StoredFile, Upload
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings, settings_for_transaction
from wasb.store.base import utcnow
from wasb.templates.parameters import describe_parameters
from wasb.templates.service import TemplateError, check_sendable, get_template, prepare_template

# A reply counts for the campaign when it comes this long after the campaign's message at most.
REPLY_WINDOW = timedelta(days=7)
PREVIEW_ROWS = 10


class CampaignError(ValueError):
    """A campaign that cannot be prepared as asked (422), with the reason."""


class CampaignNotFound(LookupError):
    pass


class CampaignState(ValueError):
    """The campaign is not in a state that allows this (409)."""


@dataclass(frozen=True)
class NewCampaign:
    name: str
    template_id: int
    # The CRM segment (kind None: every kind)…
    kind: PersonKind | None = None
    owner: str | None = None
    crm_field: str | None = None
    value: str | None = None
    # …or a CSV file's text.
    csv_text: str | None = None
    csv_name: str | None = None
    # The file of a media header (image, video, document): uploaded, or a CRM document.
    header: Upload | None = None
    header_document_id: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)


def may_send_campaigns(settings: AdminSettings, username: str, is_admin: bool) -> bool:
    return is_admin or username in settings.campaign_senders


def create_campaign(rt: Runtime, session: Session, new: NewCampaign, author: str) -> Campaign:
    """A draft with every recipient; raises CampaignError (or TemplateNotFound) with the reason."""
    name = " ".join((new.name or "").split())
    if not name or len(name) > 200:
        raise CampaignError("a campaign needs a name of at most 200 characters")
    template = get_template(session, new.template_id)
    try:
        check_sendable(template)
    except TemplateError as exc:
        raise CampaignError(str(exc)) from None
    if new.kind is not None and new.kind not in PERSON_KINDS:
        raise CampaignError(f"kind: one of {', '.join(PERSON_KINDS)}")
    mapping = {str(k): str(v) for k, v in (new.mapping or {}).items() if str(v).strip()}
    params = {str(k): v for k, v in (new.params or {}).items() if str(v).strip()}
    try:
        header = check_header_file(rt, session, template.name, describe_parameters(template).header_media,
                                   new.header, new.header_document_id)
        if new.csv_text is not None:
            candidates, columns = csv_candidates(new.csv_text)
            check_sources(mapping, csv_columns=columns)
            audience_view: dict[str, Any] = {"csv": (new.csv_name or "upload.csv")[:200], "rows": len(candidates)}
        else:
            check_sources(mapping, csv_columns=None)
            if new.crm_field and not (new.value or "").strip():
                raise CampaignError("a CRM field to choose people by needs the value they have")
            candidates = crm_candidates(rt.crm(session), new.kind, new.owner, new.crm_field, new.value)
            audience_view = {"kind": new.kind, "owner": new.owner or None, "field": new.crm_field or None,
                             "value": (new.value or "").strip() or None}
        audience = classify(session, candidates, mapping, rt.config.default_country)
    except (AudienceError, MappingError, HeaderFileError) as exc:
        raise CampaignError(str(exc)) from None
    except CRMError as exc:
        if type(exc) is not CRMError:
            raise  # the CRM is down or refuses us: the caller says so
        raise CampaignError(str(exc)) from None
    first = next((r for r in audience.rows if r["state"] == PENDING), None)
    if first is not None:  # every recipient fills the same parameters: one check tells for all
        _prepared(session, template.name, template.language, params, first["param_values"],
                  header_file=header is not None)
    settings = settings_for_transaction(session, rt.config)
    cost = sum(price_of(settings.country_prices, settings.template_prices, r["country"], template.category)
               for r in audience.rows if r["state"] == PENDING)
    campaign = Campaign(
        name=name, template_id=template.id, template_name=template.name, template_language=template.language,
        category=template.category, audience=audience_view, mapping=mapping, params=params, status=DRAFT,
        created_by=author, created_at=utcnow(), recipients=audience.recipients, opted_out=audience.opted_out,
        invalid=audience.invalid, duplicates=audience.duplicates, estimated_cost=round(cost, 4),
        currency=settings.price_currency)
    if header is not None:
        stored = store_header_file(rt, header)
        campaign.header_sha256, campaign.header_filename = stored.sha256, stored.filename
        campaign.header_mime, campaign.header_size = stored.mime_type, stored.size
    session.add(campaign)
    session.flush()
    if audience.rows:
        session.execute(insert(CampaignRecipient), [{**r, "campaign_id": campaign.id} for r in audience.rows])
    record_change(session, actor=author, entity="campaign", entity_id=campaign.id, field="status", old=None,
                  new=DRAFT)
    return campaign


def _prepared(session: Session, name: str, language: str, params: Mapping[str, Any],
              values: Mapping[str, Any] | None, *, header_file: bool):
    try:
        return prepare_template(session, name, language, {**params, **(values or {})}, header_document=header_file)
    except TemplateError as exc:
        raise CampaignError(f"{exc} (map the parameter to a field or column, or give it a fixed value)") from None


def get_campaign(session: Session, campaign_id: int, *, lock: bool = False) -> Campaign:
    """`lock`: the row is held until the transaction ends (PostgreSQL's FOR UPDATE), so a
    move of the campaign and its dispatch job never interleave."""
    campaign = session.get(Campaign, campaign_id, with_for_update=lock or None, populate_existing=lock)
    if campaign is None:
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return campaign


def list_campaigns(session: Session, *, limit: int = 100) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit)))


# --- life ------------------------------------------------------------------------------

def start(rt: Runtime, session: Session, campaign_id: int, who: str) -> Campaign:
    campaign = _in_state(session, campaign_id, (DRAFT,), "started")
    if not campaign.recipients:
        raise CampaignState("the campaign has nobody to send to")
    check_sendable(get_template(session, campaign.template_id))
    campaign.started_at = utcnow()
    _move(rt, session, campaign, RUNNING, who)
    return campaign


def pause(rt: Runtime, session: Session, campaign_id: int, who: str) -> Campaign:
    campaign = _in_state(session, campaign_id, (RUNNING,), "paused")
    _move(rt, session, campaign, PAUSED, who)
    return campaign


def resume(rt: Runtime, session: Session, campaign_id: int, who: str) -> Campaign:
    campaign = _in_state(session, campaign_id, (PAUSED,), "resumed")
    campaign.note = None
    _move(rt, session, campaign, RUNNING, who)
    return campaign


def cancel(rt: Runtime, session: Session, campaign_id: int, who: str) -> Campaign:
    """The recipients not handed to the sender yet are not sent; the few already handed go."""
    campaign = _in_state(session, campaign_id, (DRAFT, RUNNING, PAUSED), "cancelled")
    session.execute(update(CampaignRecipient)
                    .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state == PENDING)
                    .values(state=SKIPPED, reason="the campaign was cancelled"))
    campaign.finished_at = utcnow()
    _move(rt, session, campaign, CANCELLED, who)
    return campaign


def _in_state(session: Session, campaign_id: int, allowed: tuple[str, ...], verb: str) -> Campaign:
    campaign = get_campaign(session, campaign_id, lock=True)
    if campaign.status not in allowed:
        raise CampaignState(f"campaign {campaign_id} is {campaign.status}: it cannot be {verb}")
    return campaign


def _move(rt: Runtime, session: Session, campaign: Campaign, status: str, who: str) -> None:
    record_change(session, actor=who, entity="campaign", entity_id=campaign.id, field="status",
                  old=campaign.status, new=status)
    campaign.status = status
    if status == RUNNING:
        keep_dispatching(rt, session, campaign.id, delay=0)


DISPATCH_TASK = "campaigns.dispatch"


def keep_dispatching(rt: Runtime, session: Session, campaign_id: int, *, delay: float) -> None:
    """The campaign's dispatch job comes (back) after `delay` seconds, unless one already
    waits: a pause and a quick resume never start a second chain of them."""
    ref = f"campaign:{campaign_id}"
    if any(job.status == TODO for job in rt.queue.jobs_of(session, [ref])):
        return
    rt.queue.enqueue(session, DISPATCH_TASK, {"campaign_id": campaign_id}, lock=ref, ref=ref, delay_seconds=delay)


# --- progress and report ---------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    # A funnel: `sent` counts the delivered and read ones too, `delivered` the read ones.
    pending: int  # not handed to the sender yet
    queued: int  # handed, not sent yet
    sent: int  # accepted by Meta
    delivered: int
    read: int
    failed: int  # Meta's failure, or refused when its turn came
    replied: int
    skipped: int  # not sent: the campaign was cancelled
    failures: list[dict]  # [{"reason", "count"}], most frequent first

    def view(self) -> dict:
        return {"pending": self.pending, "queued": self.queued, "sent": self.sent, "delivered": self.delivered,
                "read": self.read, "failed": self.failed, "replied": self.replied, "skipped": self.skipped,
                "failures": self.failures}


def progress(session: Session, campaign_id: int) -> Progress:
    r, m = CampaignRecipient, Message
    states = dict(session.execute(select(r.state, func.count()).where(r.campaign_id == campaign_id)
                                  .group_by(r.state)).all())
    statuses = dict(session.execute(select(m.status, func.count()).join(r, r.message_id == m.id)
                                    .where(r.campaign_id == campaign_id).group_by(m.status)).all())
    replied = session.scalar(select(func.count()).where(r.campaign_id == campaign_id, r.replied_at.is_not(None)))
    meta_failures = session.execute(
        select(func.coalesce(m.error_message, "failed"), m.error_code, func.count()).join(r, r.message_id == m.id)
        .where(r.campaign_id == campaign_id, m.status == FAILED).group_by(m.error_message, m.error_code)).all()
    refusals = session.execute(select(r.reason, func.count()).where(r.campaign_id == campaign_id, r.state == REFUSED)
                               .group_by(r.reason)).all()
    failures = [{"reason": f"{message} ({code})" if code else message, "count": n} for message, code, n in meta_failures]
    failures += [{"reason": reason or "refused", "count": n} for reason, n in refusals]
    failures.sort(key=lambda f: -f["count"])
    return Progress(
        pending=states.get(PENDING, 0), queued=statuses.get(MESSAGE_QUEUED, 0) + statuses.get(SENDING, 0),
        sent=statuses.get(SENT, 0) + statuses.get(DELIVERED, 0) + statuses.get(READ, 0),
        delivered=statuses.get(DELIVERED, 0) + statuses.get(READ, 0), read=statuses.get(READ, 0),
        failed=statuses.get(FAILED, 0) + states.get(REFUSED, 0), replied=replied or 0,
        skipped=states.get(SKIPPED, 0), failures=failures[:20])


def campaign_view(session: Session, campaign: Campaign) -> dict:
    return {
        "id": campaign.id, "name": campaign.name, "status": campaign.status, "note": campaign.note,
        "template": {"id": campaign.template_id, "name": campaign.template_name,
                     "language": campaign.template_language, "category": campaign.category},
        "audience": campaign.audience, "mapping": campaign.mapping, "params": campaign.params,
        "created_by": campaign.created_by, "created_at": campaign.created_at, "started_at": campaign.started_at,
        "finished_at": campaign.finished_at, "recipients": campaign.recipients,
        "excluded": {"opted_out": campaign.opted_out, "invalid": campaign.invalid, "duplicates": campaign.duplicates},
        "estimated_cost": {"amount": campaign.estimated_cost, "currency": campaign.currency},
        "header_file": ({"filename": campaign.header_filename, "mime_type": campaign.header_mime,
                         "size": campaign.header_size} if campaign.header_sha256 else None),
        "progress": progress(session, campaign.id).view(),
    }


def header_file(campaign: Campaign) -> StoredFile | None:
    if campaign.header_sha256 is None:
        return None
    return StoredFile(campaign.header_sha256, campaign.header_filename or "file",
                      campaign.header_mime or "application/octet-stream", campaign.header_size or 0)


def recipients(session: Session, campaign_id: int, *, state: str | None = None, limit: int = 100,
               offset: int = 0) -> list[CampaignRecipient]:
    query = select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign_id)
    if state:
        query = query.where(CampaignRecipient.state == state)
    return list(session.scalars(query.order_by(CampaignRecipient.row, CampaignRecipient.id).limit(limit)
                                .offset(offset)))


def excluded(session: Session, campaign_id: int, limit: int = 1000) -> list[CampaignRecipient]:
    return recipients(session, campaign_id, state=EXCLUDED, limit=limit)


def preview(session: Session, campaign: Campaign, limit: int = PREVIEW_ROWS) -> list[dict]:
    """The first recipients to be sent, each with the message as they will read it."""
    rows = recipients(session, campaign.id, state=PENDING, limit=limit) or recipients(
        session, campaign.id, state=QUEUED, limit=limit)
    shown = []
    for r in rows:
        try:
            text = _prepared(session, campaign.template_name, campaign.template_language, campaign.params,
                             r.param_values, header_file=campaign.header_sha256 is not None).rendered
        except CampaignError as exc:
            text = str(exc)
        shown.append({"row": r.row, "name": r.name, "phone": r.phone, "country": r.country,
                      "parameters": {**campaign.params, **(r.param_values or {})}, "text": text})
    return shown


REPORT_COLUMNS = ("row", "name", "phone", "country", "person_id", "state", "status", "reason", "queued_at",
                  "sent_at", "delivered_at", "read_at", "replied_at", "conversation_id")


def report_rows(session: Session, campaign_id: int):
    """Every recipient with what became of them, in the audience's order (for the CSV export)."""
    r, m = CampaignRecipient, Message
    query = (select(r, m.status, m.error_code, m.error_message, m.sent_at, m.delivered_at, m.read_at,
                    m.conversation_id)
             .outerjoin(m, m.id == r.message_id).where(r.campaign_id == campaign_id).order_by(r.row, r.id))
    for row in session.execute(query).yield_per(1000):
        recipient, status, code, error, sent_at, delivered_at, read_at, conversation_id = row
        reason = recipient.reason
        if status == FAILED:
            reason = f"{error or 'failed'} ({code})" if code else (error or "failed")
        yield {"row": recipient.row, "name": recipient.name or "", "phone": recipient.phone,
               "country": recipient.country or "", "person_id": recipient.person_id or "", "state": recipient.state,
               "status": status or "", "reason": reason or "", "queued_at": recipient.queued_at,
               "sent_at": sent_at, "delivered_at": delivered_at, "read_at": read_at,
               "replied_at": recipient.replied_at, "conversation_id": conversation_id or ""}


def campaign_results(session: Session, settings: AdminSettings, since: datetime, until: datetime,
                     created_by: str | None = None) -> list[dict]:
    """The campaigns started in [since, until): their funnel and their cost, priced per country
    for the messages delivered (what Meta bills), for the analytics dashboard."""
    query = select(Campaign).where(Campaign.started_at >= since, Campaign.started_at < until)
    if created_by:
        query = query.where(Campaign.created_by == created_by)
    results = []
    for campaign in session.scalars(query.order_by(Campaign.started_at)):
        funnel = progress(session, campaign.id)
        delivered = session.execute(
            select(CampaignRecipient.country, func.count()).join(Message, Message.id == CampaignRecipient.message_id)
            .where(CampaignRecipient.campaign_id == campaign.id, Message.status.in_((DELIVERED, READ)))
            .group_by(CampaignRecipient.country)).all()
        cost = sum(n * price_of(settings.country_prices, settings.template_prices, country, campaign.category)
                   for country, n in delivered)
        results.append({"id": campaign.id, "name": campaign.name, "status": campaign.status,
                        "template": campaign.template_name, "started_at": campaign.started_at,
                        "created_by": campaign.created_by, "recipients": campaign.recipients,
                        "sent": funnel.sent, "delivered": funnel.delivered, "read": funnel.read,
                        "replied": funnel.replied, "failed": funnel.failed, "cost": round(cost, 4)})
    return results


# --- replies ---------------------------------------------------------------------------

def note_reply(session: Session, contact_id: int, conversation_id: int, at: datetime) -> None:
    """A customer a campaign's message went to wrote: if it went lately, their reply counts for
    it and their conversation is marked with it (the inbox says which campaign they answer).
    Either way their entry forgets the campaign: their next messages look nothing up."""
    session.execute(update(WaContact).where(WaContact.id == contact_id).values(campaign_sent_at=None))
    r = CampaignRecipient
    found = session.execute(select(r.id, r.campaign_id).where(
        # Meta's timestamps are whole seconds: a reply in the second its campaign message left
        # is stamped before that message was queued.
        r.wa_contact_id == contact_id, r.queued_at >= at - REPLY_WINDOW, r.queued_at < at + timedelta(seconds=1),
        r.replied_at.is_(None)).order_by(r.queued_at.desc()).limit(1)).first()
    if found is None:
        return
    session.execute(update(r).where(r.id == found.id).values(replied_at=at))
    session.execute(update(Conversation).where(Conversation.id == conversation_id).values(campaign_id=found.campaign_id))


def campaign_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))).all())


__all__ = ["CampaignError", "CampaignNotFound", "CampaignState", "NewCampaign", "Progress", "REPORT_COLUMNS",
           "DISPATCH_TASK", "cancel", "campaign_names", "campaign_results", "campaign_view", "create_campaign",
           "excluded", "get_campaign", "header_file",
           "list_campaigns", "may_send_campaigns", "note_reply", "pause", "preview", "progress", "recipients",
           "report_rows", "resume", "start", "keep_dispatching"]
