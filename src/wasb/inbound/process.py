"""The worker side of the intake: apply one customer's items of one stored webhook."""
from __future__ import annotations

import logging
from typing import Any

import orjson
from sqlalchemy import case
from sqlalchemy.orm import Session

from wasb.crm.guard import GuardedCRM
from wasb.crm.port import CRMAuthError, CRMUnavailable
from wasb.inbound.envelope import MESSAGE, STATUS, TEMPLATE, parse_envelope
from wasb.inbound.intake import PROCESS_TASK
from wasb.inbound.messages import Inbound, receive_message
from wasb.inbound.statuses import receive_status
from wasb.inbound.tables import FAILED, PENDING, PROCESSED, InboundEvent
from wasb.jobs.queue import Task, checkpoint
from wasb.settings.service import settings_for_transaction
from wasb.store.base import utcnow
from wasb.templates.webhooks import receive_template_event

log = logging.getLogger(__name__)


def process_customer_items(app: Any, session: Session, payload: dict) -> None:
    event = session.get(InboundEvent, payload["event_id"])
    if event is None:
        raise LookupError(f"inbound event {payload['event_id']} does not exist")
    items = [i for i in parse_envelope(orjson.loads(event.body)) if i.lock == payload["lock"]]
    crm = app.crm(session)
    if not app.crm_is_local:
        # Commit before each call out: no database lock is held while the CRM answers
        # (or times out), and each CRM id recorded so far survives a failure.
        crm = GuardedCRM(crm, before=lambda: checkpoint(session))
    ctx = Inbound(session=session, crm=crm, config=app.config, settings=settings_for_transaction(session, app.config))
    for item in items:
        if item.kind == MESSAGE:
            receive_message(ctx, item)
        elif item.kind == STATUS:
            receive_status(session, item)
        elif item.kind == TEMPLATE:
            receive_template_event(session, item)
        else:
            log.info("event %s: kept %s change without processing", event.id, item.field_name or "unknown")
    _job_done(session, event.id)


_events = InboundEvent.__table__


def _job_done(session: Session, event_id: int) -> None:
    """One customer of the event is done; the last one marks the event processed."""
    last = _events.c.pending_jobs <= 1
    session.execute(_events.update().where(_events.c.id == event_id).values(
        pending_jobs=_events.c.pending_jobs - 1,
        state=case((last & (_events.c.state == PENDING), PROCESSED), else_=_events.c.state),
        processed_at=case((last & (_events.c.state == PENDING), utcnow()), else_=_events.c.processed_at),
    ))


def give_up(app: Any, session: Session, payload: dict, error: str) -> None:
    last_line = error.strip().splitlines()[-1] if error.strip() else "unknown error"
    session.execute(_events.update().where(_events.c.id == payload["event_id"])
                    .values(state=FAILED, error=f"customer {payload['lock']}: {last_line}"))


PROCESS = Task(
    name=PROCESS_TASK,
    run=process_customer_items,
    max_attempts=8,
    batchable=lambda app: app.crm_is_local,
    on_give_up=give_up,
    # The CRM down, slow, or refusing our credentials: the customer's events wait
    # (in order, behind the lock) until it answers again; nothing is given up.
    wait_on=(CRMUnavailable, CRMAuthError),
)
