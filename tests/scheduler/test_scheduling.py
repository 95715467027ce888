"""Scheduled jobs run when their schedule says, once per slot, on a clock the tests control."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo


from tests.support.queue_rows import count_jobs, engine_of
from wasb.domain.schedule import Schedule
from wasb.scheduler.service import update_job

ROME = ZoneInfo("Europe/Rome")


def test_every_n_seconds_job_runs_once_per_slot(scheduled):
    s = scheduled(Schedule.every(60))
    start = s.clock()
    assert s.job().next_run_at == start + timedelta(seconds=60)
    s.clock.advance(seconds=59)
    assert s.tick() == []
    s.clock.advance(seconds=1)
    assert s.tick() == ["probe"]
    assert s.tick() == []  # the slot is taken: a second ticker (or tick) queues nothing
    s.work()
    assert s.probe.runs == [start + timedelta(seconds=60)]
    assert s.next_slot() == ["probe"]
    assert s.probe.runs[-1] == start + timedelta(seconds=120)
    job = s.job()
    assert (job.status, job.attempts, job.last_result) == ("idle", 0, {"run": 2})
    assert job.next_run_at == start + timedelta(seconds=180)


def test_two_tickers_queue_a_slot_once(scheduled):
    s = scheduled(Schedule.every(60))
    s.clock.advance(seconds=61)
    other = type(s)(s.app, s.clock, s.probe)
    assert s.tick() + other.tick() == ["probe"]
    with s.app.db.read_sessions() as session:
        assert count_jobs(session, engine_of(s.app), "scheduler.run") == 1


def test_a_job_missed_for_hours_runs_once_then_keeps_its_cadence(scheduled):
    s = scheduled(Schedule.every(60))
    s.clock.advance(hours=5)
    assert s.tick() == ["probe"]
    s.work()
    assert len(s.probe.runs) == 1
    assert s.tick() == []
    assert s.job().next_run_at == s.clock() + timedelta(seconds=60)


def test_daily_job_runs_at_the_same_local_time_across_the_spring_dst_change(scheduled):
    s = scheduled(Schedule.daily("17:45"), timezone_name="Europe/Rome",
                  start=datetime(2025, 3, 28, 12, 0, tzinfo=timezone.utc))
    for _ in range(4):
        assert s.next_slot() == ["probe"]
        s.clock.advance(hours=3)
        assert s.tick() == []  # nothing until the next day's slot
    local = [r.astimezone(ROME).strftime("%a %d %H:%M") for r in s.probe.runs]
    assert local == ["Fri 28 17:45", "Sat 29 17:45", "Sun 30 17:45", "Mon 31 17:45"]
    assert [r.hour for r in s.probe.runs] == [16, 16, 15, 15]  # UTC moves by the hour Rome gained


def test_daily_job_runs_once_on_the_night_the_autumn_change_repeats_its_time(scheduled):
    s = scheduled(Schedule.daily("02:30"), timezone_name="Europe/Rome",
                  start=datetime(2025, 10, 25, 0, 0, tzinfo=timezone.utc))
    for _ in range(3):
        s.next_slot()
    s.clock.now = datetime(2025, 10, 26, 1, 31, tzinfo=timezone.utc)  # the second 02:30 of Sunday
    assert s.tick() == []
    local = [r.astimezone(ROME).strftime("%d %H:%M %Z") for r in s.probe.runs]
    assert local == ["25 02:30 CEST", "26 02:30 CEST", "27 02:30 CET"]


def test_changing_a_schedule_counts_from_now(scheduled):
    s = scheduled(Schedule.every(3600), timezone_name="Europe/Rome")
    with s.app.db.sessions() as session, session.begin():
        update_job(session, "probe", ROME, s.clock(), actor="test", schedule="at 17:45")
    assert s.job().next_run_at.astimezone(ROME).strftime("%d %H:%M") == "28 17:45"
    with s.app.db.sessions() as session, session.begin():
        update_job(session, "probe", ROME, s.clock(), actor="test", schedule={"every_seconds": 30})
    assert s.job().next_run_at == s.clock() + timedelta(seconds=30)


def test_an_inactive_job_is_not_scheduled_and_resumes_from_now(scheduled):
    s = scheduled(Schedule.every(60))
    with s.app.db.sessions() as session, session.begin():
        update_job(session, "probe", ROME, s.clock(), actor="test", active=False)
    s.clock.advance(hours=1)
    assert s.tick() == []
    with s.app.db.sessions() as session, session.begin():
        update_job(session, "probe", ROME, s.clock(), actor="test", active=True)
    assert s.job().next_run_at == s.clock() + timedelta(seconds=60)
