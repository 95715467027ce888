"""How far behind the service is: webhooks accepted and not yet events (the intake
journal), and jobs due and not yet run. `/healthz` and the jobs page show the same.

Being behind never refuses a webhook (Meta must not see errors because we are busy: it
would redeliver, then disable the subscription); it is said, so an operator can act.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from wasb.config import Config
from wasb.inbound.intake import Waiting
from wasb.inbound.journal import journal_backlog, journal_path
from wasb.jobs.queue import JobQueue
from wasb.store.base import utcnow
from wasb.store.engine import Database


@dataclass(frozen=True)
class ServiceBacklog:
    intake: Waiting  # accepted webhooks not yet moved into the service database
    jobs_due: int
    oldest_due_at: datetime | None
    age_seconds: float  # how long the oldest waiting item (webhook or job) has waited
    # Customers whose jobs wait behind a running job of a worker that is gone (Lag.stuck_locks).
    stuck_locks: int
    busy: bool  # past WASB_BACKLOG_BUSY_ITEMS or WASB_BACKLOG_BUSY_SECONDS, or a customer stuck

    def view(self) -> dict:
        return {"intake_waiting": self.intake.count, "intake_oldest_at": self.intake.oldest_at,
                "jobs_due": self.jobs_due, "oldest_due_at": self.oldest_due_at,
                "age_seconds": round(self.age_seconds, 3), "stuck_locks": self.stuck_locks, "busy": self.busy}


def service_backlog(config: Config, db: Database, queue: JobQueue, session: Session) -> ServiceBacklog:
    path = journal_path(db.url)
    intake = journal_backlog(path, db) if path else Waiting(0, None)
    lag = queue.lag(session)
    now = utcnow()
    oldest = min((t for t in (intake.oldest_at, lag.oldest_due_at) if t is not None), default=None)
    age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    busy = (intake.count + lag.due > config.backlog_busy_items or age > config.backlog_busy_seconds
            or lag.stuck_locks > 0)
    return ServiceBacklog(intake, lag.due, lag.oldest_due_at, age, lag.stuck_locks, busy)
