"""syncMessages: reconciliation of messages with Meta and the CRM.

Meta has no API to fetch past messages, so this job cannot download what was
missed; it makes sure nothing stays half-done:

1. failed inbound events (received within the sync window) are retried;
2. inbound events left pending without any job (a crash between steps, or an
   operator's cleanup) are queued again;
3. delivery statuses that arrived before their message are applied once the
   message exists (the send response stored its wamid);
4. queued outbound messages are sent           (hook: `send_queued_outbound`);
5. media whose download was lost or failed is fetched again while Meta keeps it
   (7 days), older media is marked expired (`wasb.media.downloads`);
6. with an external CRM, agent comments written there since the last cursor
   become queued messages of their conversation (`wasb.tickets.agent_comments`;
   that poll also runs on its own schedule: the cursor makes each comment one
   message, whoever polls).
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wasb.conversations.search import index_new
from wasb.conversations.tables import Message, PendingStatus
from wasb.inbound.intake import event_ref
from wasb.inbound.service import retry_event
from wasb.inbound.tables import FAILED, PENDING, InboundEvent
from wasb.jobs.queue import JobQueue
from wasb.media import downloads
from wasb.outbound import flush_outbox
from wasb.outbound.statuses import apply_pending_statuses
from wasb.runtime import Runtime
from wasb.settings.service import load_settings
from wasb.tickets.agent_comments import poll_agent_comments

BATCH = 200
# An event younger than this may still be in the intake's hands.
SETTLE = timedelta(minutes=1)


# --- the outbound side -----------------------------------------------------------------

FLUSH_SECONDS = 20.0


def send_queued_outbound(rt: Runtime) -> dict:
    """Send outbound rows still `queued` (their send job lost, or held back by a refused token)."""
    report = flush_outbox(rt, FLUSH_SECONDS).view()
    return {"sent": len(report.get("sent", [])), "failed": len(report.get("failed", [])),
            "waiting": len(report.get("waiting", []))}


def retry_pending_media(rt: Runtime) -> dict:
    """Download inbound media whose download was lost or failed, while Meta still keeps it."""
    return downloads.retry_pending_media(rt)


def send_crm_agent_comments(rt: Runtime) -> dict:
    """With an external CRM: agent comments since the cursor become queued messages."""
    if rt.crm_link is None:
        return {"skipped": "agents of the embedded CRM answer through WASB itself"}
    return asdict(poll_agent_comments(rt))


# --- what exists now ------------------------------------------------------------------


def retry_failed_events(session: Session, queue: JobQueue, since: datetime, limit: int = BATCH) -> list[int]:
    ids = list(session.scalars(select(InboundEvent.id).where(InboundEvent.state == FAILED,
                                                             InboundEvent.received_at >= since)
                               .order_by(InboundEvent.id).limit(limit)))
    return [event_id for event_id in ids if retry_event(session, queue, event_id).state == PENDING]


def requeue_stuck_events(session: Session, queue: JobQueue, before: datetime, limit: int = BATCH) -> list[int]:
    """Pending events with no job left to process them get their jobs again."""
    stuck: list[int] = []
    after = 0
    # Page through the pending events (a CRM outage can leave many, all with their jobs
    # waiting) and keep those the queue knows no job of.
    while len(stuck) < limit:
        page = list(session.scalars(select(InboundEvent.id).where(InboundEvent.state == PENDING,
                                                                  InboundEvent.received_at < before,
                                                                  InboundEvent.id > after)
                                    .order_by(InboundEvent.id).limit(BATCH)))
        if not page:
            break
        after = page[-1]
        known = {job.ref for job in queue.jobs_of(session, [event_ref(event_id) for event_id in page])}
        stuck += [event_id for event_id in page if event_ref(event_id) not in known]
    stuck = stuck[:limit]
    for event_id in stuck:
        # No job is left to count down: start the count again from the body.
        session.execute(update(InboundEvent).where(InboundEvent.id == event_id).values(pending_jobs=0))
        retry_event(session, queue, event_id)
    return stuck


def apply_early_statuses(session: Session, limit: int = BATCH) -> int:
    messages = session.scalars(select(Message).where(Message.wamid.in_(
        select(PendingStatus.wamid).distinct())).limit(limit)).all()
    return sum(apply_pending_statuses(session, message) for message in messages)


def run_sync_messages(rt: Runtime, ctx) -> dict:
    now = ctx.now()
    with rt.db.read_sessions() as s:
        window = timedelta(days=load_settings(s, rt.config).time_window_days)
    summary: dict[str, Any] = {"retried_events": [], "requeued_events": [], "statuses_applied": 0}
    with rt.db.sessions() as s, s.begin():
        summary["retried_events"] = retry_failed_events(s, rt.queue, now - window)
    with rt.db.sessions() as s, s.begin():
        summary["requeued_events"] = requeue_stuck_events(s, rt.queue, now - SETTLE)
    while True:
        with rt.db.sessions() as s, s.begin():
            applied = apply_early_statuses(s)
        summary["statuses_applied"] += applied
        if not applied:
            break
    with rt.db.sessions() as s, s.begin():
        index_new(s)  # the messages written since the inbound worker's last batch
    ctx.progress(3, 6)
    for step in (send_queued_outbound, retry_pending_media, send_crm_agent_comments):
        summary[step.__name__] = step(rt)
    ctx.progress(6, 6)
    return summary
