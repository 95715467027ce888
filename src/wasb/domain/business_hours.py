"""Business hours: a weekly schedule of open intervals and a list of holidays, in one time
zone. Pure rules, no clock: callers pass the instant (so tests cross a daylight-saving
change or midnight without moving time).

- An interval is wall-clock "HH:MM-HH:MM" on a weekday. An end at or before the start
  runs past midnight into the next day ("22:00-02:00"); "24:00" is the end of the day.
- A holiday (a local date) cancels the intervals that start on that date; an interval of
  the day before that runs past midnight still holds (it belongs to the day it starts).
- No interval on any day means hours are not in use: always open (holidays alone close
  nothing, so a business that set none is never told it is closed).
- Times on the days the clocks change read like a wall clock: a skipped time (02:30 in
  the spring gap) counts the gap's length later, a repeated time (autumn) its first
  occurrence, as in `domain.schedule`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
# How far back `closed_since` looks for the last open interval (a year of holidays at most).
LOOKBACK_DAYS = 400

_INTERVAL = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*[-–]\s*([01]?\d|2[0-3]|24):([0-5]\d)\s*$")


class InvalidHours(ValueError):
    pass


@dataclass(frozen=True)
class Interval:
    start: time
    # Minutes from the start's midnight to the end: may pass 24 h (past midnight), never 48 h.
    end_minutes: int

    def text(self) -> str:
        end = self.end_minutes % (24 * 60)
        if self.end_minutes == 24 * 60:
            return f"{self.start:%H:%M}-24:00"
        return f"{self.start:%H:%M}-{end // 60:02d}:{end % 60:02d}"


def parse_interval(text: str) -> Interval:
    """"09:00-13:00", "22:00-02:00" (past midnight), "00:00-24:00" (all day)."""
    match = _INTERVAL.match(text if isinstance(text, str) else "")
    if not match:
        raise InvalidHours(f"an interval is HH:MM-HH:MM, e.g. 09:00-13:00, not {text!r}")
    sh, sm, eh, em = (int(g) for g in match.groups())
    if eh == 24 and em:
        raise InvalidHours(f"24:00 is the latest end, not {text!r}")
    start, end = sh * 60 + sm, eh * 60 + em
    if end == start:
        raise InvalidHours(f"an interval needs an end different from its start: {text!r} "
                           "(00:00-24:00 is the whole day)")
    if end < start:
        end += 24 * 60  # past midnight, into the next day
    return Interval(time(sh, sm), end)


def parse_intervals(text: str) -> list[Interval]:
    """A day's intervals, comma-separated: "09:00-13:00, 14:00-18:00" ("" = closed)."""
    intervals = [parse_interval(part) for part in text.split(",") if part.strip()]
    _no_overlap(intervals)
    return intervals


def _no_overlap(intervals: list[Interval]) -> None:
    spans = sorted((i.start.hour * 60 + i.start.minute, i.end_minutes, i.text()) for i in intervals)
    for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
        if start < end:
            raise InvalidHours(f"{first} and {second} overlap")


@dataclass(frozen=True)
class BusinessHours:
    weekly: dict[int, tuple[Interval, ...]] = field(default_factory=dict)  # 0 = Monday
    holidays: frozenset[date] = frozenset()

    @property
    def in_use(self) -> bool:
        return any(self.weekly.values())

    @classmethod
    def from_texts(cls, weekly: dict[str, list[str]], holidays: list[date] | tuple = ()) -> "BusinessHours":
        """From the settings' shape: {"mon": ["09:00-13:00", "14:00-18:00"], …} and dates."""
        days: dict[int, tuple[Interval, ...]] = {}
        for name, texts in weekly.items():
            if name not in WEEKDAYS:
                raise InvalidHours(f"unknown weekday {name!r}; one of {', '.join(WEEKDAYS)}")
            intervals = [parse_interval(t) for t in texts]
            _no_overlap(intervals)
            days[WEEKDAYS.index(name)] = tuple(intervals)
        return cls(days, frozenset(holidays))


def _wall_clock(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The UTC instant a wall clock in `tz` shows `minutes` after `day`'s midnight
    (the next day's when past 24 h); fold=0 as in `domain.schedule._wall_clock`."""
    day, minutes = day + timedelta(days=minutes // (24 * 60)), minutes % (24 * 60)
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz).replace(fold=0)
    return local.astimezone(timezone.utc)


def open_periods(hours: BusinessHours, day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The open periods (UTC start, end) that start on local `day`, in order; none on a holiday."""
    if day in hours.holidays:
        return []
    periods = []
    for interval in hours.weekly.get(day.weekday(), ()):
        start = interval.start.hour * 60 + interval.start.minute
        begin, end = _wall_clock(day, start, tz), _wall_clock(day, interval.end_minutes, tz)
        if end > begin:  # an interval wholly inside a spring gap has no length
            periods.append((begin, end))
    return sorted(periods)


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None:
        raise ValueError("business hours need an aware datetime")


def is_open(hours: BusinessHours, instant: datetime, tz: ZoneInfo) -> bool:
    """Whether `instant` is inside the hours (always, when no hours are set)."""
    _require_aware(instant)
    if not hours.in_use:
        return True
    today = instant.astimezone(tz).date()
    # Yesterday's intervals may run past midnight into today.
    return any(begin <= instant < end
               for day in (today - timedelta(days=1), today)
               for begin, end in open_periods(hours, day, tz))


def closed_since(hours: BusinessHours, instant: datetime, tz: ZoneInfo) -> datetime | None:
    """When the closed period `instant` is in began (the end of the last open period, UTC);
    None while open. With nothing open in the last LOOKBACK_DAYS, that far back."""
    if is_open(hours, instant, tz):
        return None
    day = instant.astimezone(tz).date()
    def ended(back: int) -> list[datetime]:
        return [end for _, end in open_periods(hours, day - timedelta(days=back), tz) if end <= instant]

    for back in range(LOOKBACK_DAYS + 1):
        if ends := ended(back):
            # The day before's last period may run past midnight and end later still.
            return max(ends + ended(back + 1))
    return _wall_clock(day - timedelta(days=LOOKBACK_DAYS), 0, tz)


def opens_next(hours: BusinessHours, instant: datetime, tz: ZoneInfo) -> datetime | None:
    """The next opening after `instant` (UTC), within LOOKBACK_DAYS; None if hours are not in use."""
    _require_aware(instant)
    if not hours.in_use:
        return None
    day = instant.astimezone(tz).date()
    for ahead in range(-1, LOOKBACK_DAYS + 1):
        starts = [begin for begin, _ in open_periods(hours, day + timedelta(days=ahead), tz) if begin > instant]
        if starts:
            return min(starts)
    return None


def business_seconds(hours: BusinessHours, start: datetime, end: datetime, tz: ZoneInfo) -> float:
    """Seconds of [start, end) inside the hours (all of them when hours are not in use):
    first-response and resolution times counted in business time."""
    _require_aware(start)
    _require_aware(end)
    if end <= start:
        return 0.0
    if not hours.in_use:
        return (end - start).total_seconds()
    periods = []
    day, last = start.astimezone(tz).date() - timedelta(days=1), end.astimezone(tz).date()
    while day <= last:
        periods += open_periods(hours, day, tz)
        day += timedelta(days=1)
    total, counted_to = 0.0, start
    # Sorted by start, each counted from where the previous stopped: a period running past
    # midnight into the next day's first one is not counted twice.
    for begin, finish in sorted(periods):
        begin, finish = max(begin, counted_to), min(finish, end)
        if finish > begin:
            total += (finish - begin).total_seconds()
            counted_to = finish
    return total
