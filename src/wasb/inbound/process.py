"""The worker side of the intake: apply one customer's items of one stored webhook."""
from __future__ import annotations

import logging
from typing import Any

import orjson
from sqlalchemy import bindparam, case, select
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
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
from wasb.tickets.process import WINDOW_CLOSED, hold_failed_comment, release_held_comments

log = logging.getLogger(__name__)


def process_customer_items(app: Any, session: Session, payload: dict) -> None:
    event_id = payload["event_id"]
    body = session.scalar(_body_of, {"event_id": event_id})
    if body is None:
        raise LookupError(f"inbound event {event_id} does not exist")
    items = [i for i in parse_envelope(orjson.loads(body)) if i.lock == payload["lock"]]
    crm = app.crm(session)
    if not app.crm_is_local:
        # Commit before each call out: no database lock is held while the CRM answers
        # (or times out), and each CRM id recorded so far survives a failure.
        crm = GuardedCRM(crm, before=lambda: checkpoint(session))
    ctx = Inbound(session=session, crm=crm, config=app.config, settings=settings_for_transaction(session, app.config),
                  crm_in_transaction=app.crm_is_local)
    for item in items:
        if item.kind == MESSAGE:
            received = receive_message(ctx, item)
            if received is not None and received.message.type != "reaction":
                _window_reopened(app, session, received.contact)
        elif item.kind == STATUS:
            receive_status(session, item)
            if item.data.get("status") == "failed":
                _window_closed(app, session, item)
        elif item.kind == TEMPLATE:
            receive_template_event(session, item)
        else:
            log.info("event %s: kept %s change without processing", event_id, item.field_name or "unknown")
    _job_done(session, event_id)


def _window_reopened(app: Any, session: Session, contact: WaContact) -> None:
    """The customer wrote: ticket comments that waited for the window go out now."""
    released = release_held_comments(app, session, contact)
    if released:
        log.info("customer wrote again: %d held comment(s) released", len(released))


def _window_closed(app: Any, session: Session, item: Any) -> None:
    """A ticket comment Meta accepted but could not deliver outside the window waits instead."""
    errors = item.data.get("errors") or [{}]
    if isinstance(errors[0], dict) and errors[0].get("code") == WINDOW_CLOSED and item.data.get("id"):
        hold_failed_comment(app, session, item.data["id"])


_events = InboundEvent.__table__
# Built once: these run for every job, and building a statement costs more than running it.
_body_of = select(_events.c.body).where(_events.c.id == bindparam("event_id"))
_last_pending = (_events.c.pending_jobs <= 1) & (_events.c.state == PENDING)
_one_done = _events.update().where(_events.c.id == bindparam("event_id")).values(
    pending_jobs=_events.c.pending_jobs - 1,
    state=case((_last_pending, PROCESSED), else_=_events.c.state),
    processed_at=case((_last_pending, bindparam("now", type_=_events.c.processed_at.type)),
                      else_=_events.c.processed_at),
)


def _job_done(session: Session, event_id: int) -> None:
    """One customer of the event is done; the last one marks the event processed."""
    session.execute(_one_done, {"event_id": event_id, "now": utcnow()})


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
