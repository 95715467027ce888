"""The scheduled jobs admins see (the plugin's cron panel): schedule, status, attempts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, JSONType, UTCDateTime, utcnow

IDLE = "idle"
RUNNING = "running"
FAILED = "failed"  # the last run failed; still scheduled while attempts < max
STOPPED = "stopped"  # attempts reached max: not scheduled until an admin resets it
RUNNABLE = (IDLE, FAILED)


class ScheduledJob(Base):
    __tablename__ = "scheduled_job"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # "every" (every_seconds) or "daily" (daily_at, HH:MM in WASB_TIMEZONE).
    schedule_kind: Mapped[str] = mapped_column(String(8))
    every_seconds: Mapped[int | None] = mapped_column(Integer)
    daily_at: Mapped[str | None] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(16), default=IDLE)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Set while a run is queued and not yet started: a second request is refused.
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written by a running job as it makes progress; a stale one means the run died.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress_done: Mapped[int | None] = mapped_column(Integer)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_duration_seconds: Mapped[float | None] = mapped_column(Float)
    last_result: Mapped[dict | None] = mapped_column(JSONType)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
