"""The campaign's dispatch job: hands the recipients to the sender a few at a time.

The sender takes jobs in the order they were queued, and agents' replies are queued behind
whatever waits: were 10,000 campaign messages queued at once, an agent's reply would wait
for all of them. So a running campaign keeps at most half a second of the number's send rate
waiting in the queue (`send_rate_per_second / 2` messages), tops it up every TICK (often enough that the sender never runs dry), and an
agent's reply waits behind at most that. The sending itself is the ordinary one: the same
rate limit (the number's tier, shared by every sender), retries and statuses.

No CRM is called here: each recipient's parameters and record were read when the campaign
was prepared, so a remote CRM's latency never holds the transaction."""
from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from wasb.campaigns.service import DISPATCH_TASK, header_file, keep_dispatching
from wasb.campaigns.tables import DONE, PAUSED, PENDING, QUEUED, REFUSED, RUNNING, Campaign, CampaignRecipient
from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Message
from wasb.crm.port import Person
from wasb.domain.phones import wa_id_to_e164
from wasb.domain.statuses import QUEUED as MESSAGE_QUEUED, SENDING
from wasb.jobs.queue import Task
from wasb.outbound.files import uploaded_media_id
from wasb.outbound.service import (
    OutboundError, Outgoing, StoredFile, conversation_for_number, conversation_for_person, queue_message,
)
from wasb.runtime import Runtime
from wasb.settings.service import settings_for_transaction
from wasb.store.base import utcnow
from wasb.templates.service import TemplateError, check_sendable, get_template

log = logging.getLogger(__name__)

TICK = 0.2  # seconds between two top-ups of a running campaign (the worker polls as often)


def waiting_room(send_rate_per_second: int) -> int:
    """How many of a campaign's messages may wait for the sender at once."""
    return max(1, send_rate_per_second // 2)


def _dispatch(rt: Runtime, session: Session, payload: dict) -> None:
    # Locked first, as start, pause, resume and cancel lock it: a cancel that came while this
    # job read the campaign as running was overwritten with `done` (PostgreSQL).
    campaign = session.get(Campaign, payload["campaign_id"], with_for_update=True)
    if campaign is None or campaign.status != RUNNING:
        return  # paused or cancelled: resuming queues a new dispatch
    try:
        check_sendable(get_template(session, campaign.template_id))
    except TemplateError as exc:  # Meta paused or disabled the template: hold, never burn the audience
        campaign.status, campaign.note = PAUSED, str(exc)
        log.warning("campaign %s paused: %s", campaign.id, exc)
        return
    room = waiting_room(settings_for_transaction(session, rt.config).send_rate_per_second) - _waiting(session, campaign.id)
    header = header_file(campaign)
    if header is not None:
        header = replace(header, media_id=uploaded_media_id(session, header.sha256, rt.config.phone_number_id))
        if header.media_id is None:
            # The first message goes alone: the sender uploads the header's file with it, and
            # the others go with that upload's id instead of each uploading the same file.
            room = 0 if _waiting(session, campaign.id, (MESSAGE_QUEUED, SENDING)) else 1
    if room > 0:
        due = session.scalars(select(CampaignRecipient).where(
            CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.state == PENDING)
            .order_by(CampaignRecipient.id).limit(room)).all()
        for recipient in due:
            _send(rt, session, campaign, recipient, header)
    more = session.scalar(select(exists().where(CampaignRecipient.campaign_id == campaign.id,
                                                CampaignRecipient.state == PENDING)))
    if more:
        keep_dispatching(rt, session, campaign.id, delay=TICK)
    else:  # every recipient is with the sender: their statuses keep coming, the report follows them
        campaign.status, campaign.finished_at = DONE, utcnow()


def _waiting(session: Session, campaign_id: int, statuses: tuple[str, ...] = (MESSAGE_QUEUED,)) -> int:
    """The campaign's messages handed to the sender and not sent yet."""
    return session.scalar(select(func.count()).select_from(CampaignRecipient)
                          .join(Message, Message.id == CampaignRecipient.message_id)
                          .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.state == QUEUED,
                                 Message.status.in_(statuses))) or 0


def _send(rt: Runtime, session: Session, campaign: Campaign, recipient: CampaignRecipient,
          header: StoredFile | None) -> None:
    try:
        with session.begin_nested():
            message, contact = _queue(rt, session, campaign, recipient, header)
    except (OutboundError, TemplateError) as exc:
        recipient.state, recipient.reason = REFUSED, str(exc)
        return
    recipient.state, recipient.message_id, recipient.queued_at = QUEUED, message.id, message.timestamp
    recipient.wa_contact_id = contact.id
    contact.campaign_sent_at = message.timestamp  # their next message is looked up as a reply


def _queue(rt: Runtime, session: Session, campaign: Campaign, recipient: CampaignRecipient,
           header: StoredFile | None) -> tuple[Message, WaContact]:
    e164 = wa_id_to_e164(recipient.wa_id)
    if recipient.person_id:
        # The record as it was read when the campaign was prepared: no CRM call per message.
        person = Person(id=recipient.person_id, kind=recipient.person_kind or "contact", name=recipient.name or e164,
                        mobile=e164)
        conversation, contact = conversation_for_person(rt, session, person)
    else:
        conversation, contact = conversation_for_number(rt, session, e164)
    if contact.marketing_opted_out:  # since the campaign was prepared: a campaign is marketing, whatever its category
        raise OutboundError("the customer opted out of marketing messages after the campaign was prepared")
    outgoing = Outgoing(type="template", template_name=campaign.template_name,
                        template_language=campaign.template_language,
                        template_values={**campaign.params, **(recipient.param_values or {})},
                        stored=header,
                        origin=f"campaign:{campaign.id}", mirror=False)
    return queue_message(rt, session, conversation.id, outgoing, campaign.created_by), contact


DISPATCH = Task(name=DISPATCH_TASK, run=_dispatch, max_attempts=8)

__all__ = ["DISPATCH", "TICK", "waiting_room"]
