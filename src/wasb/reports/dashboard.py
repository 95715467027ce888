"""What the analytics dashboard, its CSV and `GET /api/v1/analytics` show: read from the
tables the `analytics` job keeps (wasb.reports.analytics), never from the messages.

- per local day: conversations opened, messages in and out, templates and their cost per
  category, windows expired without an answer (the agent's rows, or the overall ones);
- response times in business seconds: the first response of the conversations whose
  customer first wrote in the range, the resolution of those closed in the range; median
  (the middle value, or the mean of the two middle ones) and p90 (nearest rank: the value
  at rank ⌈0.9·n⌉), overall and per agent.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.reports.analytics import day_bounds
from wasb.reports.tables import AnalyticsConversation, AnalyticsDay, AnalyticsState
from wasb.reports.usage import UsageRange
from wasb.settings.service import AdminSettings

COUNTS = ("conversations_opened", "messages_in", "messages_out", "windows_expired")


def p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def summary(values: list[float]) -> dict:
    return {"count": len(values), "median": statistics.median(values) if values else None, "p90": p90(values)}


def _zero_day(day: date) -> dict:
    return {"day": day.isoformat(), **dict.fromkeys(COUNTS, 0), "templates": {}, "template_cost": {}}


def _add_to(target: dict, row: AnalyticsDay) -> None:
    for key in COUNTS:
        target[key] += getattr(row, key)
    for category, n in (row.templates or {}).items():
        target["templates"][category] = target["templates"].get(category, 0) + n
    for category, cost in (row.template_cost or {}).items():
        target["template_cost"][category] = round(target["template_cost"].get(category, 0.0) + cost, 6)


def _times(session: Session, column, since: datetime, until: datetime, seconds_column, agent: str | None):
    query = (select(AnalyticsConversation.agent, seconds_column)
             .where(column >= since, column < until, seconds_column.is_not(None)))
    if agent:
        query = query.where(AnalyticsConversation.agent == agent)
    overall: list[float] = []
    per_agent: dict[str, list[float]] = defaultdict(list)
    for who, seconds in session.execute(query):
        overall.append(seconds)
        if who:
            per_agent[who].append(seconds)
    return overall, per_agent


def analytics_report(session: Session, span: UsageRange, tz, settings: AdminSettings, agent: str | None = None) -> dict:
    """The figures of the local days span.first..span.last, of one agent or of everyone."""
    rows = session.scalars(select(AnalyticsDay).where(AnalyticsDay.day >= span.first, AnalyticsDay.day <= span.last))
    days = {span.first + timedelta(days=i): _zero_day(span.first + timedelta(days=i))
            for i in range((span.last - span.first).days + 1)}
    totals = _zero_day(span.first)
    agents: dict[str, dict] = {}
    for row in rows:
        if row.agent is not None:
            _add_to(agents.setdefault(row.agent, _zero_day(span.first)), row)
        if row.agent == agent:  # the agent's rows, or the overall ones (agent None)
            _add_to(days[row.day], row)
            _add_to(totals, row)
    since, until = day_bounds(span.first, span.last, tz)
    first_response, first_by_agent = _times(session, AnalyticsConversation.first_customer_at, since, until,
                                            AnalyticsConversation.first_response_seconds, agent)
    resolution, resolution_by_agent = _times(session, AnalyticsConversation.closed_at, since, until,
                                             AnalyticsConversation.resolution_seconds, agent)
    names = sorted(set(agents) | set(first_by_agent) | set(resolution_by_agent))
    if agent:
        names = [n for n in names if n == agent]
    totals.pop("day")
    updated = session.scalar(select(AnalyticsState.last_run_at))
    return {
        "from": span.first.isoformat(), "to": span.last.isoformat(), "timezone": tz.key, "agent": agent,
        "currency": settings.price_currency, "updated_at": updated.isoformat() if updated else None,
        "days": list(days.values()), "totals": totals,
        "first_response_seconds": summary(first_response), "resolution_seconds": summary(resolution),
        "agents": [{"agent": name, **{k: v for k, v in agents.get(name, _zero_day(span.first)).items() if k != "day"},
                    "first_response_seconds": summary(first_by_agent.get(name, [])),
                    "resolution_seconds": summary(resolution_by_agent.get(name, []))} for name in names],
    }


def agent_names(session: Session) -> list[str]:
    """The agents analytics has figures for (the filter's choices)."""
    return sorted(session.scalars(select(AnalyticsDay.agent).where(AnalyticsDay.agent.is_not(None)).distinct()))


def csv_rows(report: dict) -> list[list]:
    """One line per day, with one column per template category; then the totals."""
    categories = sorted({c for d in report["days"] for c in d["templates"]} | set(report["totals"]["templates"]))
    header = ["day", *COUNTS, *(f"templates_{c}" for c in categories),
              *(f"cost_{c}_{report['currency']}" for c in categories)]
    lines = [header]
    for d in [*report["days"], {**report["totals"], "day": "total"}]:
        lines.append([d["day"], *(d[k] for k in COUNTS), *(d["templates"].get(c, 0) for c in categories),
                      *(f"{d['template_cost'].get(c, 0.0):.4f}" for c in categories)])
    return lines
