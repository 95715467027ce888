"""Scheduled jobs: their records, asking for a run, running it once, and the outcome.

A run goes through two conditional UPDATEs, so the database itself guarantees that a
job never runs twice at once, across processes too (PostgreSQL re-checks the WHERE
after a concurrent writer commits; SQLite serializes writers):

1. request: `requested_at` NULL → now, only while the job is idle or failed. The
   request and the queue job that will run it are written in one transaction; a
   second request meanwhile is refused (`JobBusy`).
2. claim: status idle/failed → running, when the queued run starts (or when the CLI
   runs a job in the foreground). Whoever does not get the row does not run.

The outcome then updates attempts n / max: a failure adds one (at max the job is
`stopped` and no longer scheduled until an admin resets it), a success resets it.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wasb.audit.service import record_change
from wasb.domain.schedule import DAILY, EVERY, InvalidSchedule, Schedule, next_run, parse_schedule
from wasb.jobs.queue import JobQueue
from wasb.runtime import Runtime
from wasb.scheduler.registry import JobSpec, RunContext, job_specs
from wasb.scheduler.tables import FAILED, IDLE, RUNNABLE, RUNNING, STOPPED, ScheduledJob
from wasb.store.base import utcnow
from wasb.store.engine import Database
from wasb.store.upsert import insert_for

log = logging.getLogger(__name__)

RUN_TASK = "scheduler.run"
DEFAULT_MAX_ATTEMPTS = 5
MAX_MAX_ATTEMPTS = 100
# A running job's progress is written at most this often...
HEARTBEAT_SECONDS = 1.0
# ...and, progress or not, a thread of the process running it beats this often...
BEAT_SECONDS = 5.0
# ...so one silent for this long died with its process (PostgreSQL, several workers): the
# ticker counts it as a failed run within tens of seconds, never a run of a live process
# (its beats keep coming while the job waits for the CRM or Meta).
STALE_AFTER = timedelta(seconds=30)


class JobNotFound(LookupError):
    pass


class JobBusy(RuntimeError):
    """The job is running, or a run is already queued."""


class JobStopped(RuntimeError):
    """The job reached its max attempts: an admin must reset it first."""


class JobUpdateError(ValueError):
    pass


# --- records ---------------------------------------------------------------------


def schedule_of(row: ScheduledJob) -> Schedule:
    if row.schedule_kind == EVERY:
        return Schedule(EVERY, every_seconds=row.every_seconds)
    return Schedule(DAILY, at=row.daily_at)


def _schedule_values(schedule: Schedule) -> dict:
    return {"schedule_kind": schedule.kind, "every_seconds": schedule.every_seconds, "daily_at": schedule.at}


def ensure_jobs(session: Session, specs: dict[str, JobSpec], tz: ZoneInfo, now: datetime) -> None:
    """A record for every known job, with its default schedule (existing ones are kept)."""
    existing = set(session.scalars(select(ScheduledJob.name)))
    dialect = session.get_bind().dialect.name
    for spec in specs.values():
        if spec.name in existing:
            continue
        stmt = insert_for(dialect, ScheduledJob.__table__).values(
            name=spec.name, active=True, status=IDLE, attempts=0, max_attempts=DEFAULT_MAX_ATTEMPTS,
            next_run_at=next_run(spec.schedule, now, tz), updated_at=now, **_schedule_values(spec.schedule))
        session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))


def list_jobs(session: Session, specs: dict[str, JobSpec]) -> list[ScheduledJob]:
    rows = session.scalars(select(ScheduledJob).where(ScheduledJob.name.in_(list(specs)))).all()
    order = {name: i for i, name in enumerate(specs)}
    return sorted(rows, key=lambda r: order[r.name])


def get_job(session: Session, name: str) -> ScheduledJob:
    row = session.get(ScheduledJob, name)
    if row is None:
        raise JobNotFound(f"no scheduled job {name!r}")
    return row


def update_job(session: Session, name: str, tz: ZoneInfo, now: datetime, *, actor: str,
               active: bool | None = None, schedule: str | dict | None = None,
               max_attempts: int | None = None) -> ScheduledJob:
    """Change the active flag, the schedule or the max attempts (the panel's "Set")."""
    row = get_job(session, name)
    changes: dict[str, Any] = {}
    if schedule is not None:
        try:
            new_schedule = parse_schedule(schedule)
        except InvalidSchedule as exc:
            raise JobUpdateError(str(exc)) from exc
        if new_schedule != schedule_of(row):
            changes.update(_schedule_values(new_schedule))
    if max_attempts is not None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) \
                or not 1 <= max_attempts <= MAX_MAX_ATTEMPTS:
            raise JobUpdateError(f"max attempts is a whole number from 1 to {MAX_MAX_ATTEMPTS}")
        changes["max_attempts"] = max_attempts
    if active is not None:
        changes["active"] = bool(active)
    old = {key: getattr(row, key) for key in changes}
    for key, value in changes.items():
        setattr(row, key, value)
    if {"schedule_kind", "every_seconds", "daily_at"} & set(changes) or (changes.get("active") and not old["active"]):
        # A new schedule (or a job switched back on) counts from now, not from a stale slot.
        row.next_run_at = next_run(schedule_of(row), now, tz)
    for key, value in changes.items():
        if old[key] != value:
            record_change(session, actor=actor, entity="scheduled_job", entity_id=name, field=key,
                          old=old[key], new=value, at=now)
    session.flush()
    return row


def reset_job(session: Session, name: str, tz: ZoneInfo, now: datetime, *, actor: str) -> ScheduledJob:
    """Attempts back to 0 and a stopped job scheduled again (the panel's "Reset")."""
    row = get_job(session, name)
    if row.status == RUNNING:
        raise JobBusy(f"{name} is running; reset it once the run is over")
    if row.status != IDLE or row.attempts:
        record_change(session, actor=actor, entity="scheduled_job", entity_id=name, field="status",
                      old=f"{row.status} {row.attempts}/{row.max_attempts}", new=f"{IDLE} 0/{row.max_attempts}", at=now)
    row.status, row.attempts = IDLE, 0
    row.next_run_at = next_run(schedule_of(row), now, tz)
    session.flush()
    return row


# --- asking for a run ------------------------------------------------------------


def request_run(session: Session, queue: JobQueue, name: str, now: datetime, *, trigger: str = "manual",
                scheduled_for: datetime | None = None) -> None:
    """Queue one run of the job in the caller's transaction; refused while one is queued or running."""
    row = get_job(session, name)
    if row.status == STOPPED:
        raise JobStopped(f"{name} stopped after {row.attempts} failed runs; reset it to run it again")
    taken = session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.name == name, ScheduledJob.requested_at.is_(None), ScheduledJob.status.in_(RUNNABLE))
        .values(requested_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if taken != 1:
        session.refresh(row)
        if row.status == STOPPED:
            raise JobStopped(f"{name} stopped after {row.attempts} failed runs; reset it to run it again")
        raise JobBusy(f"{name} is already {'running' if row.status == RUNNING else 'queued'}")
    queue.enqueue(session, RUN_TASK, {
        "name": name, "trigger": trigger,
        "scheduled_for": scheduled_for.isoformat() if scheduled_for else None,
    }, lock=f"schedule:{name}", ref=f"schedule:{name}", max_attempts=1)
    session.refresh(row)


# --- running ---------------------------------------------------------------------


def claim_run(db: Database, name: str, now: datetime, *, queued: bool, scheduled: bool) -> bool:
    """idle/failed → running, or nothing. `queued`: the caller is the run that was requested."""
    conditions = [ScheduledJob.name == name, ScheduledJob.status.in_(RUNNABLE)]
    if not queued:
        conditions.append(ScheduledJob.requested_at.is_(None))  # a queued run comes first
    if scheduled:
        conditions.append(ScheduledJob.active.is_(True))  # switched off since it was queued
    with db.sessions() as s, s.begin():
        claimed = s.execute(update(ScheduledJob).where(*conditions).values(
            status=RUNNING, requested_at=None, started_at=now, heartbeat_at=now, progress_done=None,
            progress_total=None)).rowcount == 1
        if not claimed and queued:
            s.execute(update(ScheduledJob).where(ScheduledJob.name == name).values(requested_at=None))
    return claimed


def finish_run(db: Database, name: str, started_at: datetime, now: datetime, *, result: dict | None,
               error: str | None) -> ScheduledJob:
    with db.sessions() as s, s.begin():
        row = s.get(ScheduledJob, name, with_for_update=True)
        if row.status != RUNNING or row.started_at != started_at:
            # Counted as interrupted meanwhile (its beats stopped reaching the database): that
            # outcome, and any run started since, stand.
            log.warning("scheduled job %s: the run that started at %s was already counted as interrupted",
                        name, started_at.isoformat())
            return row
        row.last_run_at = started_at
        row.last_duration_seconds = round(max(0.0, (now - started_at).total_seconds()), 3)
        row.started_at = row.heartbeat_at = None
        if error is None:
            row.status, row.attempts, row.last_result, row.last_error = IDLE, 0, result, None
        else:
            row.attempts = (row.attempts or 0) + 1
            row.status = STOPPED if row.attempts >= row.max_attempts else FAILED
            row.last_result, row.last_error = result, error
        s.flush()
        return row


@dataclass
class RunOutcome:
    name: str
    ran: bool
    ok: bool = False
    result: dict = field(default_factory=dict)
    error: str | None = None
    job: ScheduledJob | None = None


class _Progress:
    """Writes progress and the heartbeat at most once a second; tells the CLI every time."""

    def __init__(self, db: Database, name: str, now: Callable[[], datetime],
                 listener: Callable[[int, int | None], None] | None):
        self.db, self.name, self.now, self.listener = db, name, now, listener
        self._written = time.monotonic()

    def __call__(self, done: int, total: int | None = None) -> None:
        if self.listener:
            self.listener(done, total)
        if time.monotonic() - self._written < HEARTBEAT_SECONDS:
            return
        self._written = time.monotonic()
        with self.db.sessions() as s, s.begin():
            s.execute(update(ScheduledJob).where(ScheduledJob.name == self.name, ScheduledJob.status == RUNNING)
                      .values(progress_done=done, progress_total=total, heartbeat_at=self.now()))


class _Beat:
    """A thread writing the run's heartbeat every BEAT_SECONDS until the run ends, whatever
    the job is doing: a run whose beats stop died with its process."""

    def __init__(self, db: Database, name: str, started_at: datetime, now: Callable[[], datetime]):
        self.db, self.name, self.started_at, self.now = db, name, started_at, now
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"wasb-beat-{name}", daemon=True)

    def __enter__(self) -> "_Beat":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(BEAT_SECONDS)

    def _loop(self) -> None:
        while not self._stop.wait(BEAT_SECONDS):
            try:
                with self.db.sessions() as s, s.begin():
                    s.execute(update(ScheduledJob).where(
                        ScheduledJob.name == self.name, ScheduledJob.status == RUNNING,
                        ScheduledJob.started_at == self.started_at).values(heartbeat_at=self.now()))
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.warning("scheduled job %s: could not write its heartbeat", self.name, exc_info=True)


def execute_run(rt: Runtime, name: str, *, now: Callable[[], datetime] = utcnow, queued: bool = False,
                scheduled: bool = False, progress: Callable[[int, int | None], None] | None = None) -> RunOutcome:
    """Claim the job, run it, record the outcome. A job already running is not run."""
    spec = job_specs(rt).get(name)
    if spec is None:
        raise JobNotFound(f"no scheduled job {name!r}")
    started = now()
    if not claim_run(rt.db, name, started, queued=queued, scheduled=scheduled):
        return RunOutcome(name, ran=False)
    ctx = RunContext(name=name, now=now, progress=_Progress(rt.db, name, now, progress))
    result: dict = {}
    error: str | None = None
    try:
        with _Beat(rt.db, name, started, now):
            result = spec.run(rt, ctx) or {}
    except BaseException as exc:  # noqa: BLE001 - the outcome must be recorded whatever happened
        error = f"{type(exc).__name__}: {exc}"
        log.warning("scheduled job %s failed: %s", name, traceback.format_exc(limit=8))
        job = finish_run(rt.db, name, started, now(), result=None, error=error)
        if not isinstance(exc, Exception):
            raise  # Ctrl-C in the CLI: recorded as a failed run, then stop
        return RunOutcome(name, ran=True, ok=False, error=error, job=job)
    job = finish_run(rt.db, name, started, now(), result=result, error=None)
    return RunOutcome(name, ran=True, ok=True, result=result, job=job)


def recover_interrupted(session: Session, now: datetime, *, everything: bool) -> list[str]:
    """Runs left `running` by a process that died count as failed runs.

    With SQLite one process runs the scheduler, so at its start every running job is
    an orphan; elsewhere only those whose heartbeat is stale.
    """
    query = select(ScheduledJob).where(ScheduledJob.status == RUNNING).with_for_update()
    recovered = []
    for row in session.scalars(query):
        beat = row.heartbeat_at or row.started_at
        if not everything and beat is not None and now - beat < STALE_AFTER:
            continue
        row.attempts = (row.attempts or 0) + 1
        row.status = STOPPED if row.attempts >= row.max_attempts else FAILED
        row.last_error = "interrupted: the process running it stopped before the run ended"
        row.last_run_at, row.started_at, row.heartbeat_at = beat, None, None
        recovered.append(row.name)
    session.flush()
    return recovered

