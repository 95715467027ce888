"""When a scheduled job runs next: every N seconds, or daily at a local time, across DST changes."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from wasb.domain.schedule import InvalidSchedule, Schedule, next_run, parse_schedule

ROME = ZoneInfo("Europe/Rome")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_every_n_seconds_keeps_its_cadence_from_the_slot_that_ran():
    every = Schedule.every(300)
    assert next_run(every, utc(2025, 1, 1, 10, 0, 2), ROME, previous=utc(2025, 1, 1, 10, 0)) == utc(2025, 1, 1, 10, 5)


def test_every_n_seconds_after_a_long_pause_counts_from_now_instead_of_catching_up():
    every = Schedule.every(300)
    assert next_run(every, utc(2025, 1, 1, 13, 0), ROME, previous=utc(2025, 1, 1, 10, 0)) == utc(2025, 1, 1, 13, 5)


def test_daily_time_is_local_and_moves_in_utc_with_the_spring_change():
    at = Schedule.daily("17:45")
    runs, moment = [], utc(2025, 3, 28, 12, 0)
    for _ in range(4):  # Fri 28 .. Mon 31 March; clocks go forward on Sunday 30
        moment = next_run(at, moment, ROME)
        runs.append(moment)
    assert [r.astimezone(ROME).strftime("%d %H:%M") for r in runs] == ["28 17:45", "29 17:45", "30 17:45", "31 17:45"]
    assert [r.strftime("%d %H:%M") for r in runs] == ["28 16:45", "29 16:45", "30 15:45", "31 15:45"]


def test_daily_time_skipped_by_the_spring_change_runs_once_an_hour_later():
    at = Schedule.daily("02:30")
    first = next_run(at, utc(2025, 3, 29, 12, 0), ROME)
    assert first == utc(2025, 3, 30, 1, 30)  # 02:30 does not exist on 30 March: 03:30 CEST
    assert first.astimezone(ROME).strftime("%H:%M") == "03:30"
    assert next_run(at, first, ROME) == utc(2025, 3, 31, 0, 30)  # back to 02:30 CEST


def test_daily_time_repeated_by_the_autumn_change_runs_once_at_its_first_occurrence():
    at = Schedule.daily("02:30")
    runs, moment = [], utc(2025, 10, 25, 0, 0)
    for _ in range(3):  # Sat 25, Sun 26 (02:30 happens twice), Mon 27 October
        moment = next_run(at, moment, ROME)
        runs.append(moment)
    assert runs == [utc(2025, 10, 25, 0, 30), utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)]


def test_daily_time_later_today_is_today_and_an_earlier_one_is_tomorrow():
    now = datetime(2025, 6, 1, 12, 0, tzinfo=ROME)
    assert next_run(Schedule.daily("17:45"), now, ROME).astimezone(ROME) == datetime(2025, 6, 1, 17, 45, tzinfo=ROME)
    assert next_run(Schedule.daily("08:00"), now, ROME).astimezone(ROME) == datetime(2025, 6, 2, 8, 0, tzinfo=ROME)


@pytest.mark.parametrize("text, expected", [
    ("every 300 s", Schedule.every(300)), ("every 600", Schedule.every(600)), ("every 45 seconds", Schedule.every(45)),
    ("at 17:45", Schedule.daily("17:45")), ("7:05", Schedule.daily("07:05")), ({"every_seconds": 60}, Schedule.every(60)),
    ({"at": "23:59"}, Schedule.daily("23:59")),
])
def test_schedules_are_read_as_the_panel_writes_them(text, expected):
    assert parse_schedule(text) == expected
    assert parse_schedule(expected.describe()) == expected


@pytest.mark.parametrize("text", ["every 0 s", "every 5 s", "at 24:00", "at 17:60", "sometimes", "", {"at": "1", "every_seconds": 5}, 300])
def test_nonsense_schedules_are_refused_with_a_reason(text):
    with pytest.raises(InvalidSchedule):
        parse_schedule(text)


@pytest.mark.parametrize("text,expected", [
    ("ogni 300 s", Schedule.every(300)), ("Ogni 60 secondi", Schedule.every(60)), ("ogni 45", Schedule.every(45)),
    ("alle 17:45", Schedule.daily("17:45")), ("alle ore 7:05", Schedule.daily("07:05")),
    ("ogni giorno alle 06:30", Schedule.daily("06:30")),
])
def test_the_italian_wording_of_a_schedule_is_accepted_too(text, expected):
    assert parse_schedule(text) == expected


def test_an_italian_schedule_out_of_range_is_refused_like_an_english_one():
    with pytest.raises(InvalidSchedule):
        parse_schedule("ogni 5 s")
    with pytest.raises(InvalidSchedule):
        parse_schedule("alle 25:00")
