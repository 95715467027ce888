"""Attempts n / max: failures count, a success resets, the max stops the job until a reset;
and a run in progress is never started a second time."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import update

from tests.support.queue_rows import count_jobs, engine_of
from wasb.domain.schedule import Schedule
from wasb.scheduler.registry import JobSpec
from wasb.scheduler.service import JobBusy, JobStopped, claim_run, execute_run, request_run, reset_job
from wasb.scheduler.ticker import prepare
from wasb.scheduler.tables import RUNNING, ScheduledJob


def test_each_failure_adds_an_attempt_and_a_success_resets_them(scheduled):
    s = scheduled(Schedule.every(60))
    s.probe.failing = True
    s.next_slot()
    s.next_slot()
    job = s.job()
    assert (job.status, job.attempts, job.max_attempts) == ("failed", 2, 5)
    assert job.last_error == "RuntimeError: the CRM did not answer"
    s.probe.failing = False
    s.next_slot()
    job = s.job()
    assert (job.status, job.attempts, job.last_error, job.last_result) == ("idle", 0, None, {"run": 3})


def test_five_failures_stop_a_job_and_reset_restarts_it(scheduled):
    s = scheduled(Schedule.every(60))
    s.probe.failing = True
    for attempt in range(1, 6):
        assert s.next_slot() == ["probe"]
        assert s.job().attempts == attempt
    job = s.job()
    assert (job.status, job.attempts) == ("stopped", 5)
    s.clock.advance(days=1)
    assert s.tick() == []  # no longer scheduled
    with s.app.db.sessions() as session, session.begin(), pytest.raises(JobStopped):
        request_run(session, s.app.queue, "probe", s.clock())
    assert execute_run(s.app, "probe", now=s.clock).ran is False
    assert len(s.probe.runs) == 5

    with s.app.db.sessions() as session, session.begin():
        reset_job(session, "probe", s.app.config.tz, s.clock(), actor="admin:test")
    job = s.job()
    assert (job.status, job.attempts) == ("idle", 0)
    s.probe.failing = False
    assert s.next_slot() == ["probe"]
    assert (s.job().status, len(s.probe.runs)) == ("idle", 6)


def test_max_attempts_is_per_job(scheduled):
    s = scheduled(Schedule.every(60))
    with s.app.db.sessions() as session, session.begin():
        session.get(ScheduledJob, "probe").max_attempts = 2
    s.probe.failing = True
    s.next_slot()
    s.next_slot()
    assert (s.job().status, s.job().attempts) == ("stopped", 2)


def test_a_run_in_progress_is_not_started_again(scheduled):
    s = scheduled(Schedule.every(60))
    entered, release = threading.Event(), threading.Event()

    def slow(app, ctx):
        entered.set()
        assert release.wait(10)
        return {"slow": True}

    s.app.scheduled_jobs["probe"] = type(s.app.scheduled_jobs["probe"])(
        "probe", slow, Schedule.every(60), "slow")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(execute_run, s.app, "probe", now=s.clock)
        assert entered.wait(10)
        assert s.job().status == RUNNING
        assert execute_run(s.app, "probe", now=s.clock).ran is False  # e.g. the CLI meanwhile
        with s.app.db.sessions() as session, session.begin(), pytest.raises(JobBusy):
            request_run(session, s.app.queue, "probe", s.clock())  # e.g. the API meanwhile
        s.clock.advance(hours=1)
        assert s.tick() == []  # and the schedule meanwhile
        release.set()
        assert first.result().ok
    assert s.job().status == "idle"


def test_two_concurrent_run_requests_make_one_run(scheduled):
    s = scheduled(Schedule.every(3600))
    barrier = threading.Barrier(8)

    def ask(_):
        barrier.wait()
        try:
            with s.app.db.sessions() as session, session.begin():
                request_run(session, s.app.queue, "probe", s.clock())
            return "queued"
        except JobBusy:
            return "busy"

    with ThreadPoolExecutor(8) as pool:
        answers = sorted(pool.map(ask, range(8)))
    assert answers == ["busy"] * 7 + ["queued"]
    s.work()
    assert len(s.probe.runs) == 1
    with s.app.db.read_sessions() as session:
        assert count_jobs(session, engine_of(s.app)) == 0


def test_concurrent_claims_let_exactly_one_run_start(scheduled):
    s = scheduled(Schedule.every(3600))
    barrier = threading.Barrier(8)

    def claim(_):
        barrier.wait()
        return claim_run(s.app.db, "probe", s.clock(), queued=False, scheduled=False)

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(claim, range(8))) == [False] * 7 + [True]


def test_a_run_interrupted_by_a_crash_counts_as_a_failure_and_the_job_runs_again(scheduled):
    s = scheduled(Schedule.every(60))
    assert claim_run(s.app.db, "probe", s.clock(), queued=False, scheduled=False)  # ... and the process dies
    s.clock.advance(hours=1)
    if s.app.db.dialect == "sqlite":
        assert prepare(s.app, s.clock()) == ["probe"]  # the next start of the single process
    else:
        s.clock.advance(seconds=31)  # a live worker notices the heartbeat went stale, within tens of seconds
        from wasb.scheduler.ticker import Ticker
        Ticker(s.app, now=s.clock).tick()
    job = s.job()
    assert (job.status, job.attempts) == ("failed", 1)
    assert "interrupted" in job.last_error
    s.next_slot()
    assert (s.job().status, s.job().attempts, len(s.probe.runs)) == ("idle", 0, 1)


def test_a_running_job_beats_on_its_own_so_a_live_run_is_never_taken_for_a_dead_one(scheduled, monkeypatch):
    """A job waiting on the CRM reports no progress; its process's beats keep it alive for
    the ticker of another process, however long the wait."""
    from wasb.scheduler import service
    from wasb.scheduler.ticker import Ticker

    monkeypatch.setattr(service, "BEAT_SECONDS", 0.05)
    s = scheduled(Schedule.every(3600))
    release, started = threading.Event(), threading.Event()

    def waits(app, ctx):
        started.set()
        release.wait(30)
        return {"waited": True}

    s.app.scheduled_jobs["probe"] = JobSpec("probe", waits, Schedule.every(3600), "waits for the CRM")
    runner = threading.Thread(target=execute_run, args=(s.app, "probe"), kwargs={"now": s.clock})
    runner.start()
    try:
        assert started.wait(10)
        for _ in range(3):  # time passes well beyond STALE_AFTER, the beats follow
            beat = s.clock.advance(seconds=40)
            deadline = time.monotonic() + 10
            while s.job().heartbeat_at != beat:
                assert time.monotonic() < deadline, "no beat"
                time.sleep(0.02)
            Ticker(s.app, now=s.clock).tick()
            assert s.job().status == RUNNING
    finally:
        release.set()
        runner.join(10)
    job = s.job()
    assert (job.status, job.attempts, job.last_result) == ("idle", 0, {"waited": True})


def test_a_late_outcome_does_not_overwrite_a_run_counted_as_interrupted(scheduled):
    from wasb.scheduler.service import finish_run

    s = scheduled(Schedule.every(60))
    started = s.clock()
    assert claim_run(s.app.db, "probe", started, queued=False, scheduled=False)
    with s.app.db.sessions() as session, session.begin():  # its beats stopped: counted as interrupted
        session.execute(update(ScheduledJob).values(status="failed", attempts=1, started_at=None,
                                                    last_error="interrupted"))
    job = finish_run(s.app.db, "probe", started, s.clock.advance(seconds=5), result={"late": True}, error=None)
    assert (job.status, job.attempts, job.last_error, job.last_result) == ("failed", 1, "interrupted", None)
