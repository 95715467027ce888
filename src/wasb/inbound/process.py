"""The worker side of the intake: apply one customer's items of one stored webhook."""
from __future__ import annotations

import logging
from typing import Any

import orjson
from sqlalchemy import bindparam, case, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.crm.port import CRMAuthError, CRMError, CRMUnavailable
from wasb.inbound.checks import item_problem, without_nul
from wasb.inbound.consent import answer_keyword, stopped_marketing
from wasb.whatsapp.webhook import MESSAGE, STATUS, TEMPLATE, Item, first_error, parse_envelope
from wasb.inbound.intake import PROCESS_TASK
from wasb.inbound.messages import AlreadyStored, Inbound, Received, receive_again, receive_message
from wasb.inbound.statuses import receive_status
from wasb.inbound.tables import FAILED, PENDING, PROCESSED, InboundEvent
from wasb.jobs.queue import Task, checkpoint, last_line
from wasb.jobs.worker import Defer
from wasb.outbound.away import send_away_message
from wasb.outbound.held import hold_failed_comment, release_held_comments
from wasb.outbound.statuses import WINDOW_CLOSED
from wasb.runtime import Runtime
from wasb.settings.service import settings_for_transaction
from wasb.store.base import utcnow
from wasb.templates.webhooks import receive_template_event

log = logging.getLogger(__name__)


# Errors that say nothing about the item: the CRM answering (or not), a rate limit, the
# database gone. The job is tried again, in order, as before. Any other error comes from
# the item's own content (a shape processing did not foresee): that item is kept as
# failed, and the customer's later items go on instead of waiting behind its retries.
RETRY_JOB = (CRMError, Defer, OperationalError, InterfaceError)
# What the event's error keeps of each failed item's reason.
MAX_REASON = 500


def process_customer_items(rt: Runtime, session: Session, payload: dict) -> None:
    event_id = payload["event_id"]
    in_transaction = rt.crm_policy.in_transaction
    # In one transaction the event is counted done as its body is read (one statement):
    # nothing of the job is kept unless all of it is. A job that commits as it goes
    # counts it done at the end.
    row = session.execute(_take_body if in_transaction else _body_of, {"event_id": event_id, "now": utcnow()}).first()
    if row is None:
        raise LookupError(f"inbound event {event_id} does not exist")
    body, received_at = row
    document = orjson.loads(body)
    if b"\\u0000" in body:  # NUL can only come escaped in JSON text
        document = without_nul(document)
    items = [i for i in parse_envelope(document) if i.lock == payload["lock"]]
    # The process's CRM call policy: with an external CRM this job commits before each
    # CRM call (no database lock held while the CRM answers, each recorded step kept).
    crm = rt.crm_policy.crm_for_job(session, rt.crm(session))
    ctx = Inbound(session=session, crm=crm, config=rt.config, settings=settings_for_transaction(session, rt.config),
                  queue=rt.queue, in_transaction=in_transaction, received_at=received_at)
    for item in items:
        problem = item_problem(item) or _apply_on_its_own(rt, session, ctx, item)
        if problem is not None:
            log.warning("event %s: %s item of customer %s failed: %s", event_id, item.kind, payload["lock"], problem)
            _item_failed(session, event_id, f"{_label(item)}: {problem}")
    if not in_transaction:
        _job_done(session, event_id)


def _apply_on_its_own(rt: Runtime, session: Session, ctx: Inbound, item: Item) -> str | None:
    """Apply one item; when its content makes it fail, undo its writes alone and say why."""
    try:
        return _attempt(rt, session, ctx, item, _apply)
    except AlreadyStored:
        # Its wamid was met when the message was written: its writes are undone, and
        # the stored message is looked at instead.
        return _attempt(rt, session, ctx, item, _apply_again)


def _attempt(rt: Runtime, session: Session, ctx: Inbound, item: Item, apply) -> str | None:
    if rt.crm_policy.in_transaction:
        # The whole job is one transaction (maybe batched with others): a savepoint per item.
        try:
            with session.begin_nested():
                apply(rt, session, ctx, item)
        except (AlreadyStored, *RETRY_JOB):
            raise
        except Exception as exc:
            return _reason(exc)
        return None
    # The job commits before every CRM call: commit the items before this one first,
    # so undoing this one's writes (a rollback to the last commit) undoes nothing else.
    checkpoint(session)
    try:
        apply(rt, session, ctx, item)
    except AlreadyStored:
        session.rollback()
        raise
    except RETRY_JOB:
        raise
    except Exception as exc:
        session.rollback()
        return _reason(exc)
    return None


def _apply(rt: Runtime, session: Session, ctx: Inbound, item: Item) -> None:
    if item.kind == MESSAGE:
        received = receive_message(ctx, item)
        _window_reopened(rt, session, received)
        answered = answer_keyword(rt, session, ctx.settings, item, received)
        if received is not None and ctx.settings.business_hours and not answered:
            # A customer who just wrote STOP has their answer: no away message on top of it.
            send_away_message(rt, session, ctx.settings, received.message_id)
    elif item.kind == STATUS:
        receive_status(session, item)
        if item.data.get("status") == "failed":
            _window_closed(rt, session, item)
            stopped_marketing(rt, session, item)
    elif item.kind == TEMPLATE:
        receive_template_event(session, item)
    else:
        log.info("kept %s change without processing", item.field_name or "unknown")
    session.flush()  # a value the database refuses fails here, with this item


def _apply_again(rt: Runtime, session: Session, ctx: Inbound, item: Item) -> None:
    _window_reopened(rt, session, receive_again(ctx, item))
    session.flush()


def _label(item: Item) -> str:
    wamid = item.data.get("id") if item.kind in (MESSAGE, STATUS) else None
    named = f" {wamid}" if isinstance(wamid, str) and wamid else ""
    return f"{item.kind}{named}"[:240]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _item_failed(session: Session, event_id: int, reason: str) -> None:
    """The event is failed (its other items still apply): admins see each reason, once."""
    reason = reason if len(reason) <= MAX_REASON else reason[:MAX_REASON] + "…"
    known = session.scalar(_error_of, {"event_id": event_id}) or ""
    if reason not in known.split("\n"):  # a retried job meets the same item again
        known = f"{known}\n{reason}" if known else reason
    session.execute(_events.update().where(_events.c.id == event_id).values(state=FAILED, error=known))


def _window_reopened(rt: Runtime, session: Session, received: Received | None) -> None:
    """The customer wrote: ticket comments that waited for the window go out now."""
    # A number change is Meta's notice, not the customer writing: what waits keeps waiting.
    if received is None or received.type in ("reaction", "system") or not received.held_waiting:
        return
    contact = session.get(WaContact, received.contact_id, populate_existing=True)
    released = release_held_comments(rt, session, contact)
    if released:
        log.info("customer wrote again: %d held comment(s) released", len(released))


def _window_closed(rt: Runtime, session: Session, item: Any) -> None:
    """A ticket comment Meta accepted but could not deliver outside the window waits instead."""
    code, _ = first_error(item.data.get("errors"))
    if code == WINDOW_CLOSED and item.data.get("id"):
        hold_failed_comment(rt, session, item.data["id"])


_events = InboundEvent.__table__
# Built once: these run for every job, and building a statement costs more than running it.
_body_of = select(_events.c.body, _events.c.received_at).where(_events.c.id == bindparam("event_id"))
_error_of = select(_events.c.error).where(_events.c.id == bindparam("event_id"))
_last_pending = (_events.c.pending_jobs <= 1) & (_events.c.state == PENDING)
_one_done = _events.update().where(_events.c.id == bindparam("event_id")).values(
    pending_jobs=_events.c.pending_jobs - 1,
    state=case((_last_pending, PROCESSED), else_=_events.c.state),
    processed_at=case((_last_pending, bindparam("now", type_=_events.c.processed_at.type)),
                      else_=_events.c.processed_at),
)
# One customer of the event done, and its body read, in one statement. A failed item
# later in the job marks the event failed whatever this set (see `_item_failed`).
_take_body = _one_done.returning(_events.c.body, _events.c.received_at)


def _job_done(session: Session, event_id: int) -> None:
    """One customer of the event is done; the last one marks the event processed."""
    session.execute(_one_done, {"event_id": event_id, "now": utcnow()})


def give_up(rt: Runtime, session: Session, payload: dict, error: str) -> None:
    session.execute(_events.update().where(_events.c.id == payload["event_id"])
                    .values(state=FAILED, error=f"customer {payload['lock']}: {last_line(error, 'unknown error')}"))


PROCESS = Task(
    name=PROCESS_TASK,
    run=process_customer_items,
    max_attempts=8,
    calls_crm=True,
    on_give_up=give_up,
    # The CRM down, slow, or refusing our credentials: the customer's events wait
    # (in order, behind the lock) until it answers again; nothing is given up.
    wait_on=(CRMUnavailable, CRMAuthError),
)
