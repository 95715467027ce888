"""Usage and cost: what Meta billed, from the `pricing` of status webhooks, per day and category.

Since July 2025 Meta bills per message; each status webhook's `pricing` says how a
message counted (`category`: marketing, utility, authentication, service…;
`billable`; `pricing_model`: PMP per message, CBP the older per-conversation model;
`type`: regular, free_customer_service, free_entry_point). Days are local days in
`WASB_TIMEZONE`, by the message's time.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.conversations.tables import Message

MAX_DAYS = 366


class UsageRangeError(ValueError):
    pass


@dataclass
class UsageRange:
    first: date
    last: date

    @classmethod
    def parse(cls, start: str | None, end: str | None, today: date) -> "UsageRange":
        try:
            last = date.fromisoformat(end) if end else today
            first = date.fromisoformat(start) if start else last - timedelta(days=29)
        except ValueError as exc:
            raise UsageRangeError(f"from and to are dates like 2025-07-01: {exc}") from exc
        if first > last:
            raise UsageRangeError("from is after to")
        if (last - first).days >= MAX_DAYS:
            raise UsageRangeError(f"at most {MAX_DAYS} days at a time")
        return cls(first, last)


def _bucket() -> dict:
    return {"messages": 0, "billable": 0, "by_pricing_model": defaultdict(int), "by_type": defaultdict(int)}


def _add(bucket: dict, pricing: dict) -> None:
    bucket["messages"] += 1
    if pricing.get("billable") is True:
        bucket["billable"] += 1
    bucket["by_pricing_model"][str(pricing.get("pricing_model") or "unknown")] += 1
    bucket["by_type"][str(pricing.get("type") or "unknown")] += 1


def _plain(bucket: dict) -> dict:
    return {**bucket, "by_pricing_model": dict(sorted(bucket["by_pricing_model"].items())),
            "by_type": dict(sorted(bucket["by_type"].items()))}


def usage_report(session: Session, span: UsageRange, tz: ZoneInfo) -> dict:
    start = datetime.combine(span.first, time(0), tzinfo=tz).astimezone(timezone.utc)
    end = datetime.combine(span.last + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc)
    rows = session.execute(select(Message.timestamp, Message.pricing)
                           .where(Message.pricing.is_not(None), Message.timestamp >= start, Message.timestamp < end)
                           .order_by(Message.timestamp))
    days: dict[tuple[str, str], dict] = defaultdict(_bucket)
    totals: dict[str, dict] = defaultdict(_bucket)
    for at, pricing in rows:
        if not isinstance(pricing, dict):
            continue  # a JSON null
        day = at.astimezone(tz).date().isoformat()
        category = str(pricing.get("category") or "unknown")
        _add(days[(day, category)], pricing)
        _add(totals[category], pricing)
    return {
        "from": span.first.isoformat(), "to": span.last.isoformat(), "timezone": tz.key,
        "days": [{"day": day, "category": category, **_plain(bucket)}
                 for (day, category), bucket in sorted(days.items())],
        "totals": {category: _plain(bucket) for category, bucket in sorted(totals.items())},
    }
