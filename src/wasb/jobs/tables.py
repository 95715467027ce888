"""The embedded engine's job table (the queue lives in the service database)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, BigId, JSONType, UTCDateTime, utcnow

TODO = "todo"
DOING = "doing"
FAILED = "failed"

# The condition of the partial index ix_job_waiting_lock, spelled as the claim states it.
WAITING = text("status IN ('todo', 'doing')")

class Job(Base):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Jobs with the same lock key run one at a time, in enqueue order.
    lock_key: Mapped[str | None] = mapped_column(String(300))
    # What the job works for (e.g. "event:12"), to find and retry it.
    ref: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(16), default=TODO)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(100))

    # The claim's two indexes (see Worker.claim): the jobs of a status in id order, and the
    # waiting or running jobs of each lock (a partial index: done jobs are deleted, failed
    # ones stay and are no business of the claim).
    __table_args__ = (
        Index("ix_job_status_id", "status", "id"),
        Index("ix_job_waiting_lock", "lock_key", "id", sqlite_where=WAITING, postgresql_where=WAITING),
    )
