"""Business hours as pure rules: open or closed at an instant, when the closed period began,
across midnight, holidays and the daylight-saving changes of Europe/Rome."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from wasb.domain.business_hours import (
    BusinessHours, InvalidHours, business_seconds, closed_since, is_open, opens_next, parse_interval,
    parse_intervals,
)

ROME = ZoneInfo("Europe/Rome")
WEEKDAYS_9_TO_18 = {d: ["09:00-13:00", "14:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_an_empty_schedule_is_always_open_and_never_closed():
    hours = BusinessHours.from_texts({}, [date(2026, 12, 25)])
    christmas = rome(2026, 12, 25, 3, 0)
    assert is_open(hours, christmas, ROME)
    assert closed_since(hours, christmas, ROME) is None
    assert opens_next(hours, christmas, ROME) is None
    assert business_seconds(hours, christmas, christmas + timedelta(hours=2), ROME) == 7200
    assert not BusinessHours.from_texts({"mon": []}).in_use


def test_weekday_intervals_with_a_lunch_break():
    hours = BusinessHours.from_texts(WEEKDAYS_9_TO_18)
    # Tuesday 1 December 2026
    assert not is_open(hours, rome(2026, 12, 1, 8, 59), ROME)
    assert is_open(hours, rome(2026, 12, 1, 9, 0), ROME)
    assert not is_open(hours, rome(2026, 12, 1, 13, 0), ROME)  # an end is exclusive
    assert closed_since(hours, rome(2026, 12, 1, 13, 30), ROME) == rome(2026, 12, 1, 13, 0)
    assert is_open(hours, rome(2026, 12, 1, 17, 59), ROME)
    # Saturday: closed since Friday 18:00; opens Monday 09:00
    saturday = rome(2026, 12, 5, 11, 0)
    assert closed_since(hours, saturday, ROME) == rome(2026, 12, 4, 18, 0)
    assert opens_next(hours, saturday, ROME) == rome(2026, 12, 7, 9, 0)
    # Monday 08:00 is the same closed period as Saturday's
    assert closed_since(hours, rome(2026, 12, 7, 8, 0), ROME) == rome(2026, 12, 4, 18, 0)


def test_an_interval_past_midnight_belongs_to_the_day_it_starts():
    hours = BusinessHours.from_texts({"fri": ["22:00-02:00"]})
    assert is_open(hours, rome(2026, 12, 4, 23, 0), ROME)    # Friday night
    assert is_open(hours, rome(2026, 12, 5, 1, 59), ROME)    # Saturday small hours
    assert not is_open(hours, rome(2026, 12, 5, 2, 0), ROME)
    assert not is_open(hours, rome(2026, 12, 4, 1, 0), ROME)  # Friday's small hours: Thursday had none
    assert closed_since(hours, rome(2026, 12, 5, 9, 0), ROME) == rome(2026, 12, 5, 2, 0)
    whole = BusinessHours.from_texts({"sun": ["00:00-24:00"]})
    assert is_open(whole, rome(2026, 12, 6, 23, 59), ROME)
    assert not is_open(whole, rome(2026, 12, 7, 0, 0), ROME)
    assert closed_since(whole, rome(2026, 12, 7, 0, 0), ROME) == rome(2026, 12, 7, 0, 0)


def test_a_holiday_closes_its_date_and_the_closed_period_runs_from_the_last_open_day():
    hours = BusinessHours.from_texts(WEEKDAYS_9_TO_18, [date(2026, 12, 25)])
    christmas_noon = rome(2026, 12, 25, 12, 0)   # a Friday
    assert not is_open(hours, christmas_noon, ROME)
    assert closed_since(hours, christmas_noon, ROME) == rome(2026, 12, 24, 18, 0)
    assert opens_next(hours, christmas_noon, ROME) == rome(2026, 12, 28, 9, 0)
    assert is_open(hours, rome(2026, 12, 24, 12, 0), ROME)
    # the night before a holiday still runs past midnight into it
    night = BusinessHours.from_texts({"thu": ["20:00-02:00"]}, [date(2026, 12, 25)])
    assert is_open(night, rome(2026, 12, 25, 1, 0), ROME)


def test_daylight_saving_changes_follow_the_wall_clock():
    hours = BusinessHours.from_texts({"sun": ["01:00-04:00"]})
    # 29 March 2026: 02:00 → 03:00 in Rome; the interval is two real hours long
    assert is_open(hours, utc(2026, 3, 29, 0, 0), ROME)        # 01:00 CET
    assert is_open(hours, utc(2026, 3, 29, 1, 59), ROME)       # 03:59 CEST
    assert not is_open(hours, utc(2026, 3, 29, 2, 0), ROME)    # 04:00 CEST
    assert business_seconds(hours, utc(2026, 3, 28), utc(2026, 3, 30), ROME) == 2 * 3600
    # 25 October 2026: 03:00 → 02:00; the same interval is four real hours long
    assert is_open(hours, utc(2026, 10, 25, 2, 30), ROME)      # 03:30 CET
    assert not is_open(hours, utc(2026, 10, 25, 3, 0), ROME)   # 04:00 CET
    assert closed_since(hours, utc(2026, 10, 25, 9, 0), ROME) == utc(2026, 10, 25, 3, 0)
    assert business_seconds(hours, utc(2026, 10, 24), utc(2026, 10, 26), ROME) == 4 * 3600
    # a Monday 09:00 opening is 08:00 UTC in winter and 07:00 UTC in summer
    weekdays = BusinessHours.from_texts(WEEKDAYS_9_TO_18)
    assert opens_next(weekdays, utc(2026, 3, 28, 12), ROME) == utc(2026, 3, 30, 7, 0)
    assert opens_next(weekdays, utc(2026, 10, 24, 12), ROME) == utc(2026, 10, 26, 8, 0)


def test_business_seconds_count_only_open_time_and_overlaps_once():
    hours = BusinessHours.from_texts(WEEKDAYS_9_TO_18)
    # Friday 17:00 → Monday 10:00: one hour on Friday, one on Monday
    assert business_seconds(hours, rome(2026, 12, 4, 17, 0), rome(2026, 12, 7, 10, 0), ROME) == 2 * 3600
    overlapping = BusinessHours.from_texts({"mon": ["22:00-04:00"], "tue": ["01:00-03:00"]})
    assert business_seconds(overlapping, rome(2026, 11, 30), rome(2026, 12, 2), ROME) == 6 * 3600


@pytest.mark.parametrize("text", ["9-18", "09:00", "25:00-26:00", "09:00-09:00", "09:60-10:00", "22:00-24:30", ""])
def test_intervals_that_cannot_be_read_are_refused_with_the_reason(text):
    with pytest.raises(InvalidHours, match="HH:MM|different|24:00"):
        parse_interval(text)


def test_a_day_s_intervals_must_not_overlap_and_weekdays_must_be_known():
    assert [i.text() for i in parse_intervals("9:00-13:00, 14:00-24:00")] == ["09:00-13:00", "14:00-24:00"]
    with pytest.raises(InvalidHours, match="overlap"):
        parse_intervals("09:00-13:00, 12:00-18:00")
    with pytest.raises(InvalidHours, match="weekday"):
        BusinessHours.from_texts({"monday": ["09:00-18:00"]})
    with pytest.raises(ValueError, match="aware"):
        is_open(BusinessHours.from_texts(WEEKDAYS_9_TO_18), datetime(2026, 12, 1, 9), ROME)
