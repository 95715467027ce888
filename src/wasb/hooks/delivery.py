"""The delivery job: one POST of an event to an endpoint, retried for a day.

The delivery is read in a read session and posted with no transaction open (on SQLite a
write transaction holds the database's one write lock); the outcome is then written in
the job's own session. A refusal (not 2xx) or an endpoint out of reach is tried again
after `webhook_retry_seconds`, doubling up to an hour, for 24 hours, then the delivery is
`failed`. The retry is the same job deferred (`Defer`), never a new one: a later delivery
of the conversation to the endpoint waits behind it in the queue (the job's lock), so
the receiver sees a conversation's events in the order they happened.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy.orm import Session

from wasb.hooks.service import DELIVER_TASK
from wasb.hooks.signing import signature
from wasb.hooks.tables import DELIVERED, FAILED, PENDING, WebhookDelivery, WebhookEndpoint
from wasb.jobs.backoff import backoff_seconds
from wasb.jobs.queue import Task, checkpoint, last_line
from wasb.jobs.worker import Defer
from wasb.store.base import utcnow
from wasb.store.engine import Database

log = logging.getLogger(__name__)

RETRY_FOR = timedelta(hours=24)
RETRY_CAP_SECONDS = 3600.0
TIMEOUT_SECONDS = 10.0
USER_AGENT = "WASB-Webhooks/1"


class _Runtime(Protocol):
    """What the job reads of `wasb.runtime.Runtime` (a floor above this one)."""

    db: Database
    config: Any


@dataclass(frozen=True)
class _Outgoing:
    id: int
    url: str
    secret: str
    event: str
    body: bytes


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON posted: the delivery's id, its event, when it happened, and the event's data."""
    return json.dumps({"id": delivery.id, "event": delivery.event, "created_at": delivery.created_at.isoformat(),
                       "data": delivery.payload}, ensure_ascii=False, separators=(",", ":")).encode()


def _outgoing(db: Database, delivery_id: int) -> _Outgoing | None:
    with db.read_sessions() as read:
        delivery = read.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != PENDING:
            return None  # delivered, given up, or its endpoint deleted
        endpoint = read.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None:
            return None
        return _Outgoing(delivery.id, endpoint.url, endpoint.secret, delivery.event, body_of(delivery))


def post(outgoing: _Outgoing) -> tuple[int | None, str | None]:
    """(response code, None) for a 2xx, else (code or None, the reason in a sentence)."""
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-WASB-Event": outgoing.event,
               "X-WASB-Delivery": str(outgoing.id), "X-WASB-Timestamp": str(timestamp),
               "X-WASB-Signature": signature(outgoing.secret, timestamp, outgoing.body)}
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = client.post(outgoing.url, content=outgoing.body, headers=headers)
    except httpx.TimeoutException:
        return None, f"no answer within {TIMEOUT_SECONDS:.0f} s"
    except httpx.ConnectError as exc:
        return None, f"could not connect: {exc or type(exc).__name__}"
    except httpx.HTTPError as exc:
        return None, f"the request failed: {exc or type(exc).__name__}"
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"answered {response.status_code} {response.reason_phrase}".strip()


def deliver(rt: _Runtime, session: Session, payload: dict) -> None:
    outgoing = _outgoing(rt.db, payload["delivery_id"])
    if outgoing is None:
        return
    code, error = post(outgoing)
    delivery = session.get(WebhookDelivery, outgoing.id)
    if delivery is None or delivery.status != PENDING:
        return
    now = utcnow()
    delivery.attempts += 1
    delivery.response_code = code
    if error is None:
        delivery.status, delivery.delivered_at, delivery.last_error = DELIVERED, now, None
        log.info("webhook delivery %s (%s) delivered to endpoint %s: %s", delivery.id, delivery.event,
                 delivery.endpoint_id, code)
        return
    delivery.last_error = error
    delay = backoff_seconds(delivery.attempts, base=rt.config.webhook_retry_seconds, cap=RETRY_CAP_SECONDS)
    if not _retries_left(delivery.created_at, now, delay):
        delivery.status = FAILED
        log.warning("webhook delivery %s to endpoint %s failed after %s attempts in 24 h: %s", delivery.id,
                    delivery.endpoint_id, delivery.attempts, error)
        return
    log.info("webhook delivery %s to endpoint %s: attempt %s %s; again in %.1f s", delivery.id,
             delivery.endpoint_id, delivery.attempts, error, delay)
    checkpoint(session)  # the attempt is kept: Defer rolls back what is not committed
    raise Defer(delay, f"webhook delivery {outgoing.id}: {error}")


def _retries_left(created_at: datetime, now: datetime, delay: float) -> bool:
    return now + timedelta(seconds=delay) <= created_at + RETRY_FOR


def _give_up(rt: _Runtime, session: Session, payload: dict, error: str) -> None:
    """The job itself kept crashing (not the endpoint): say so in the log."""
    delivery = session.get(WebhookDelivery, payload["delivery_id"])
    if delivery is not None and delivery.status == PENDING:
        delivery.status = FAILED
        delivery.last_error = f"the delivery job failed: {last_line(error, 'unknown error')}"


DELIVER = Task(name=DELIVER_TASK, run=deliver, max_attempts=5, on_give_up=_give_up)
