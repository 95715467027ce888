"""The away message: a customer who writes outside business hours is told so, once per
conversation per closed period (not again for their next messages while it stays closed;
again in the next closed period). It goes through the ordinary outbound queue (the
customer just wrote: the window is open) and is written by the system, not by an agent
(no author; origin `away_message`).

The rule (open or closed, since when) is `domain.business_hours`; the hours, holidays and
text are the admin's settings, in the service's time zone (WASB_TIMEZONE).
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import OPEN, Conversation, Message
from wasb.domain.business_hours import closed_since
from wasb.domain.clock import window_now
from wasb.outbound.service import OutboundError, Outgoing, queue_message
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings

log = logging.getLogger(__name__)

AWAY_ORIGIN = "away_message"


def closed_period(rt: Runtime, settings: AdminSettings, at: datetime | None = None) -> datetime | None:
    """When the current closed period began (None while open or when no hours are set),
    on the product's clock (the demo's moved clock too)."""
    if not settings.business_hours:
        return None
    return closed_since(settings.business_hours_rule(), at or window_now(), rt.tz)


def send_away_message(rt: Runtime, session: Session, settings: AdminSettings, message_id: int) -> Message | None:
    """The customer's message `message_id` just arrived: queue the away message if they wrote
    in the current closed period and their conversation has not had it for this period."""
    if not settings.business_hours or not settings.away_message:
        return None  # no hours (always open), or nothing to say
    written = session.get(Message, message_id, populate_existing=True)
    if written is None or written.direction != "in" or written.type == "reaction":
        return None
    period = closed_period(rt, settings)
    # A message from an earlier closed period (a webhook delivered late or again) gets no
    # away message now: it would answer a closing the customer no longer waits on.
    if period is None or closed_period(rt, settings, written.timestamp) != period:
        return None
    conversation = session.get(Conversation, written.conversation_id, populate_existing=True)
    if conversation is None or conversation.status != OPEN or conversation.away_sent_for == period:
        return None
    # The intake wrote the customer's new window with Core statements: the window check reads it fresh.
    session.get(WaContact, conversation.wa_contact_id, populate_existing=True)
    try:
        away = queue_message(rt, session, conversation.id, Outgoing(
            type="text", body=settings.away_message, origin=AWAY_ORIGIN, mirror=False), author=None)
    except OutboundError as exc:  # e.g. the window closed meanwhile: the customer's message stands
        log.warning("conversation %s: the away message could not be queued: %s", conversation.id, exc)
        return None
    conversation.away_sent_for = period
    return away
