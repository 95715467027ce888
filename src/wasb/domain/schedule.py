"""When a scheduled job runs next: "every N seconds", or "daily at HH:MM" in a time zone.

Pure rules, no clock: callers pass the moment to compute from, so tests can move time
across a daylight-saving change.

Daily times on the days the clocks change (e.g. Europe/Rome, last Sunday of March
and of October):
- a time the spring change skips (02:30 on the March Sunday) runs once, the gap's
  length later (03:30 local), the way a wall clock reads it;
- a time the autumn change repeats (02:30 on the October Sunday) runs once, at its
  first occurrence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

EVERY = "every"
DAILY = "daily"
MIN_EVERY_SECONDS = 10
MAX_EVERY_SECONDS = 31 * 24 * 3600

# English and Italian wordings ("every 300 s" / "ogni 300 s", "at 17:45" / "alle 17:45"):
# the admin types the schedule the way the panel shows it in their language.
_EVERY = re.compile(r"^\s*(?:every|ogni)\s+(\d+)\s*(?:s|sec|secs|seconds?|secondi|secondo)?\s*$", re.I)
_DAILY = re.compile(r"^\s*(?:(?:daily|ogni\s+giorno)\s+)?(?:(?:at|alle(?:\s+ore)?)\s+)?([01]?\d|2[0-3]):([0-5]\d)\s*$",
                    re.I)


class InvalidSchedule(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    kind: str  # EVERY | DAILY
    every_seconds: int | None = None
    at: str | None = None  # "HH:MM", local time in the service's zone

    @classmethod
    def every(cls, seconds: int) -> "Schedule":
        if not isinstance(seconds, int) or not MIN_EVERY_SECONDS <= seconds <= MAX_EVERY_SECONDS:
            raise InvalidSchedule(f"every N seconds needs {MIN_EVERY_SECONDS} ≤ N ≤ {MAX_EVERY_SECONDS}, not {seconds!r}")
        return cls(EVERY, every_seconds=seconds)

    @classmethod
    def daily(cls, at: str) -> "Schedule":
        match = _DAILY.match(at or "")
        if not match:
            raise InvalidSchedule(f"a daily time is HH:MM (00:00–23:59), not {at!r}")
        return cls(DAILY, at=f"{int(match.group(1)):02d}:{match.group(2)}")

    def describe(self) -> str:
        """The admin panel's wording: "every 300 s" or "at 17:45"."""
        return f"every {self.every_seconds} s" if self.kind == EVERY else f"at {self.at}"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "every_seconds": self.every_seconds, "at": self.at, "text": self.describe()}


def parse_schedule(value: str | dict) -> Schedule:
    """"every 300 s", "every 300", "at 17:45", "17:45" (or in Italian "ogni 300 s", "alle 17:45"),
    or {"every_seconds": 300} / {"at": "17:45"}."""
    if isinstance(value, dict):
        if value.get("every_seconds") is not None and value.get("at") is None:
            return Schedule.every(value["every_seconds"])
        if value.get("at") is not None and value.get("every_seconds") is None:
            return Schedule.daily(str(value["at"]))
        raise InvalidSchedule('a schedule is {"every_seconds": N} or {"at": "HH:MM"}')
    if not isinstance(value, str):
        raise InvalidSchedule('a schedule is "every N s" or "at HH:MM"')
    if match := _EVERY.match(value):
        return Schedule.every(int(match.group(1)))
    if _DAILY.match(value):
        return Schedule.daily(value)
    raise InvalidSchedule(f'a schedule is "every N s" or "at HH:MM", not {value!r}')


def next_run(schedule: Schedule, after: datetime, tz: ZoneInfo, *, previous: datetime | None = None) -> datetime:
    """The first run strictly after `after` (aware), as an aware UTC datetime.

    `previous` is the slot that just ran: every-N jobs keep their cadence from it
    (previous + N), unless that is already past, when they continue N from `after`.
    """
    if after.tzinfo is None:
        raise ValueError("next_run needs an aware datetime")
    if schedule.kind == EVERY:
        step = timedelta(seconds=schedule.every_seconds or 0)
        if previous is not None and previous + step > after:
            return (previous + step).astimezone(timezone.utc)
        return (after + step).astimezone(timezone.utc)
    return _next_daily(schedule.at or "00:00", after, tz)


def _next_daily(at: str, after: datetime, tz: ZoneInfo) -> datetime:
    hour, minute = (int(p) for p in at.split(":"))
    day: date = after.astimezone(tz).date()
    # Candidates are wall-clock times on successive local dates, never "24 h later":
    # a day is 23 or 25 hours long when the clocks change.
    for _ in range(3):
        candidate = _wall_clock(day, time(hour, minute), tz)
        if candidate > after:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("unreachable: a daily time occurs within three days")


def _wall_clock(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant a wall clock in `tz` shows `at` on `day` (first one if repeated).

    fold=0 picks the earlier of a repeated time; for a skipped time it applies the
    offset from before the change, which lands the gap's length later.
    """
    local = datetime.combine(day, at, tzinfo=tz).replace(fold=0)
    return local.astimezone(timezone.utc)
