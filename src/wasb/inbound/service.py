"""Inbound events as admins and tools see them: list, and retry the failed ones."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wasb.inbound.intake import event_ref, inspect_body
from wasb.inbound.tables import PENDING, InboundEvent
from wasb.jobs.queue import JobQueue
from wasb.inbound.intake import PROCESS_TASK


class EventNotFound(LookupError):
    pass


def list_events(session: Session, state: str | None = None, limit: int = 100, offset: int = 0) -> list[InboundEvent]:
    query = select(InboundEvent)
    if state:
        query = query.where(InboundEvent.state == state)
    return list(session.scalars(query.order_by(InboundEvent.id.desc()).limit(limit).offset(offset)))


def retry_event(session: Session, jobs: JobQueue, event_id: int) -> InboundEvent:
    """Run a failed event again: its failed jobs get fresh attempts.

    An event that never had jobs (a body we could not read) is inspected again, so a
    fix in the parser can recover it.
    """
    event = session.get(InboundEvent, event_id)
    if event is None:
        raise EventNotFound(f"no inbound event {event_id}")
    revived = jobs.retry(session, event_ref(event_id))
    if not revived and event.pending_jobs <= 0:
        keys, problem = inspect_body(event.body)
        if problem is None and keys:
            jobs.enqueue_many(session, [{"task": PROCESS_TASK, "payload": {"event_id": event.id, "lock": k},
                                         "lock": k, "ref": event_ref(event.id)} for k in keys])
            event.pending_jobs = len(keys)
            revived = len(keys)
        else:
            event.error = problem or event.error
    if revived:
        session.execute(update(InboundEvent).where(InboundEvent.id == event_id).values(state=PENDING))
    session.flush()
    session.refresh(event)
    return event
