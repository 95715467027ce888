"""Outgoing webhooks: the endpoints an admin registers, and the events emitted to them.

`emit` is called where each event happens (the inbound worker, the statuses, the
conversations service, the consent) with the caller's session: the deliveries and their
jobs are written in the caller's transaction, so an event is sent if and only if what it
tells was committed. Each delivery is a job of the job queue locked per endpoint and
conversation, so one conversation's events reach an endpoint one at a time, in order.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wasb.hooks.tables import PENDING, WebhookDelivery, WebhookEndpoint
from wasb.jobs.queue import queue_of
from wasb.store.base import utcnow

MESSAGE_RECEIVED = "message.received"
MESSAGE_STATUS = "message.status"
CONVERSATION_OPENED = "conversation.opened"
CONVERSATION_CLOSED = "conversation.closed"
CONVERSATION_ASSIGNED = "conversation.assigned"
TICKET_CREATED = "ticket.created"
CONSENT_CHANGED = "consent.changed"
EVENTS = (MESSAGE_RECEIVED, MESSAGE_STATUS, CONVERSATION_OPENED, CONVERSATION_CLOSED, CONVERSATION_ASSIGNED,
          TICKET_CREATED, CONSENT_CHANGED)

DELIVER_TASK = "hooks.deliver"
LOG_SIZE = 100


class EndpointNotFound(LookupError):
    pass


class InvalidEndpoint(ValueError):
    """Why an endpoint is refused: `reason` names the rule (the UI says it in its language)."""

    def __init__(self, message: str, reason: str, value: str = ""):
        super().__init__(message)
        self.reason, self.value = reason, value


@dataclass(frozen=True)
class _Subscriber:
    id: int
    events: frozenset[str]


_ENDPOINTS = "wasb.webhook_endpoints"


def _subscribers(session: Session) -> list[_Subscriber]:
    """The active endpoints, read once per session (a worker batch emits many events)."""
    cached = session.info.get(_ENDPOINTS)
    if cached is None:
        rows = session.execute(select(WebhookEndpoint.id, WebhookEndpoint.events)
                               .where(WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id))
        cached = session.info[_ENDPOINTS] = [_Subscriber(i, frozenset(events or ())) for i, events in rows]
    return cached


def emit(session: Session, event: str, payload: dict, order_key: int | str | None = None) -> int:
    """A delivery to every active endpoint that wants `event`, each queued in the caller's
    transaction; returns how many. `order_key` (the conversation's id) keeps an endpoint's
    deliveries of one conversation in order."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    wanted = [s.id for s in _subscribers(session) if event in s.events]
    if not wanted:
        return 0
    key = None if order_key is None else str(order_key)
    payload = json.loads(json.dumps(payload, default=_plain))  # as the receiver will read it
    for endpoint_id in wanted:
        delivery = WebhookDelivery(endpoint_id=endpoint_id, event=event, payload=payload, order_key=key,
                                   status=PENDING, attempts=0, created_at=utcnow())
        session.add(delivery)
        session.flush()
        _queue(session, delivery)
    return len(wanted)


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _queue(session: Session, delivery: WebhookDelivery) -> None:
    lock = f"webhook:{delivery.endpoint_id}:{delivery.order_key}" if delivery.order_key else None
    queue_of(session).enqueue(session, DELIVER_TASK, {"delivery_id": delivery.id}, lock=lock,
                              ref=f"webhook_delivery:{delivery.id}")


# --- endpoints ------------------------------------------------------------------------------


def checked_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidEndpoint(f"“{url}” is not a web address: it starts with https:// (or http://) and names a host",
                              "not_web", url)
    if parts.username or parts.password:
        raise InvalidEndpoint("the address must not hold a user name or password: deliveries are signed instead",
                              "credentials")
    if len(url) > 2000:
        raise InvalidEndpoint("the address is longer than 2000 characters", "too_long")
    return url


def checked_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise InvalidEndpoint(f"unknown event(s): {', '.join(unknown)}; one of {', '.join(EVENTS)}", "unknown_event",
                              ", ".join(unknown))
    chosen = [e for e in EVENTS if e in set(events)]
    if not chosen:
        raise InvalidEndpoint("choose at least one event", "no_event")
    return chosen


def create_endpoint(session: Session, url: str, events: list[str]) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (the caller shows it once)."""
    endpoint = WebhookEndpoint(url=checked_url(url), events=checked_events(events), active=True,
                               secret=secrets.token_urlsafe(32), created_at=utcnow())
    session.add(endpoint)
    session.flush()
    session.info.pop(_ENDPOINTS, None)
    return endpoint


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def delete_endpoint(session: Session, endpoint_id: int) -> None:
    """The endpoint and its delivery log; its jobs still queued find nothing to send."""
    if session.get(WebhookEndpoint, endpoint_id) is None:
        raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
    session.info.pop(_ENDPOINTS, None)


def endpoint_view(endpoint: WebhookEndpoint) -> dict:
    """What the API shows of an endpoint: never its secret."""
    return {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events), "active": endpoint.active,
            "created_at": endpoint.created_at}


# --- the delivery log -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedDelivery:
    id: int
    endpoint_id: int
    url: str
    event: str
    order_key: str | None
    status: str
    attempts: int
    response_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    def view(self) -> dict:
        return dict(self.__dict__)


def delivery_log(session: Session, limit: int = LOG_SIZE) -> list[LoggedDelivery]:
    """The latest deliveries, newest first."""
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookEndpoint.url, WebhookDelivery.event,
               WebhookDelivery.order_key, WebhookDelivery.status, WebhookDelivery.attempts,
               WebhookDelivery.response_code, WebhookDelivery.last_error, WebhookDelivery.created_at,
               WebhookDelivery.delivered_at)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .order_by(WebhookDelivery.id.desc()).limit(limit))
    return [LoggedDelivery(*row) for row in rows]


class DeliveryNotFound(LookupError):
    pass


def resend(session: Session, delivery_id: int) -> WebhookDelivery:
    """The same event and payload sent again as a new delivery (the log keeps the first),
    queued behind what the conversation has pending for the endpoint."""
    original = session.get(WebhookDelivery, delivery_id)
    if original is None:
        raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
    again = WebhookDelivery(endpoint_id=original.endpoint_id, event=original.event, payload=original.payload,
                            order_key=original.order_key, status=PENDING, attempts=0, created_at=utcnow())
    session.add(again)
    session.flush()
    _queue(session, again)
    return again
