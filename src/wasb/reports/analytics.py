"""The `analytics` scheduled job: keeps wasb.reports.tables up to date, incrementally.

Nothing is written on the webhook's or the sender's path: each run reads the messages
above its watermark (`analytics_state.message_mark`, message ids only grow), in batches
of BATCH, and

1. updates each touched conversation's facts (first message, first customer message, the
   first agent answer after it, the last customer message, what waits for an answer) and
   records a window that closed unanswered when a later message shows it (the customer's
   next message or a late answer came after the 24 hours);
2. refreshes the facts of conversations not closed yet: their agent (the assignee, else
   who answered first) and, once closed, their closing time; the business seconds of the
   first response and of the resolution are computed once, with the business hours of
   the settings at that moment;
3. records the windows still waiting whose 24 hours are over at the run's time;
4. recomputes the `analytics_day` rows of every local day something of the above touched,
   plus the last PRICING_DAYS days: a status's `pricing` comes after its message, so
   a recent day's costs may change without a new message.

A day is recomputed from its messages (an index on `message.timestamp`) and windows,
so a run is idempotent: running it again gives the same rows.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from wasb.conversations.tables import Conversation, Message
from wasb.domain.business_hours import BusinessHours, business_seconds
from wasb.domain.window import WINDOW
from wasb.reports.tables import AnalyticsConversation, AnalyticsDay, AnalyticsState, AnalyticsWindow
from wasb.runtime import Runtime
from wasb.settings.service import AdminSettings, load_settings
from wasb.templates.tables import Template

BATCH = 5000
DAYS_PER_TRANSACTION = 31
PRICING_DAYS = 2
STATE_ID = 1
# Outbound messages no agent wrote: they answer nobody.
AUTOMATIC_ORIGINS = frozenset({"away", "consent"})


def is_agent_reply(direction: str, author: str | None, origin: str | None) -> bool:
    return direction == "out" and bool(author) and (origin or "") not in AUTOMATIC_ORIGINS


def local_day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local days first..last."""
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc)
    return start, end


def template_category(pricing: dict | None, catalog: dict[str, str], name: str | None) -> str:
    if isinstance(pricing, dict) and pricing.get("category"):
        return str(pricing["category"]).lower()
    return catalog.get(name or "", "unknown")


def template_cost(pricing: dict | None, category: str, prices: dict[str, float]) -> float:
    """Meta's `pricing` says whether the message was billable; without it (no status yet)
    a template is estimated at its category's price."""
    if isinstance(pricing, dict) and pricing.get("billable") is False:
        return 0.0
    return prices.get(category, 0.0)


@dataclass
class _Run:
    tz: ZoneInfo
    hours: BusinessHours
    settings: AdminSettings
    dirty: set[date] = field(default_factory=set)
    windows: int = 0


# --- 1. the facts of the conversations new messages touched ----------------------------

def _new_facts(conversation: Conversation | None, at: datetime) -> dict:
    return {"agent": conversation.assigned_user if conversation else None, "opened_at": at,
            "first_customer_at": None, "first_reply_at": None, "first_reply_by": None, "closed_at": None,
            "last_inbound_at": None, "unanswered_since": None, "first_response_seconds": None,
            "resolution_seconds": None}


def _expire_before(run: _Run, session: Session, conversation_id: int, facts: dict, at: datetime) -> None:
    """The window waiting for an answer closed before `at`: record it."""
    if facts["unanswered_since"] is not None and facts["last_inbound_at"] + WINDOW <= at:
        closed = facts["last_inbound_at"] + WINDOW
        session.execute(insert(AnalyticsWindow).values(conversation_id=conversation_id, agent=facts["agent"],
                                                        expired_at=closed))
        run.dirty.add(local_day(closed, run.tz))
        run.windows += 1
        facts["unanswered_since"] = None


def _apply(run: _Run, session: Session, conversation_id: int, facts: dict, message) -> None:
    at = message.timestamp
    facts["opened_at"] = min(facts["opened_at"], at)
    if message.direction == "in":
        _expire_before(run, session, conversation_id, facts, at)
        if facts["first_customer_at"] is None or at < facts["first_customer_at"]:
            facts["first_customer_at"] = at
        facts["last_inbound_at"] = max(facts["last_inbound_at"] or at, at)
        facts["unanswered_since"] = facts["unanswered_since"] or at
    elif is_agent_reply(message.direction, message.author, message.origin):
        _expire_before(run, session, conversation_id, facts, at)
        facts["unanswered_since"] = None
        if facts["first_reply_at"] is None and facts["first_customer_at"] is not None \
                and at >= facts["first_customer_at"]:
            facts["first_reply_at"], facts["first_reply_by"] = at, message.author
            facts["agent"] = facts["agent"] or message.author
    run.dirty.add(local_day(at, run.tz))


def _read_batch(rt: Runtime, mark: int) -> list:
    with rt.db.read_sessions() as s:
        return list(s.execute(
            select(Message.id, Message.conversation_id, Message.direction, Message.timestamp, Message.author,
                   Message.origin)
            .where(Message.id > mark).order_by(Message.id).limit(BATCH)))


def _facts_of_batch(run: _Run, session: Session, rows: list) -> None:
    ids = sorted({r.conversation_id for r in rows})
    columns = [c for c in AnalyticsConversation.__table__.columns if c.name != "conversation_id"]
    known = {r.conversation_id: dict(r._mapping) for r in session.execute(
        select(AnalyticsConversation.conversation_id, *columns).where(AnalyticsConversation.conversation_id.in_(ids)))}
    conversations = {c.id: c for c in session.execute(
        select(Conversation.id, Conversation.assigned_user).where(Conversation.id.in_(ids)))}
    changed: dict[int, dict] = {}
    for message in sorted(rows, key=lambda r: (r.conversation_id, r.timestamp, r.id)):
        cid = message.conversation_id
        facts = changed.get(cid) or known.get(cid) or _new_facts(conversations.get(cid), message.timestamp)
        changed[cid] = facts
        _apply(run, session, cid, facts, message)
    for cid, facts in changed.items():
        values = {k: v for k, v in facts.items() if k != "conversation_id"}
        if cid in known:
            session.execute(update(AnalyticsConversation).where(AnalyticsConversation.conversation_id == cid)
                            .values(**values))
        else:
            session.execute(insert(AnalyticsConversation).values(conversation_id=cid, **values))


# --- 2. agents, closings and business seconds ------------------------------------------

def _refresh_open(run: _Run, session: Session) -> int:
    """Facts of conversations not closed yet, against their conversation; returns how many changed."""
    rows = session.execute(
        select(AnalyticsConversation, Conversation.assigned_user, Conversation.closed_at)
        .join(Conversation, Conversation.id == AnalyticsConversation.conversation_id)
        .where(AnalyticsConversation.closed_at.is_(None))).all()
    changed = 0
    for facts, assigned, closed_at in rows:
        before = (facts.agent, facts.closed_at, facts.first_response_seconds, facts.resolution_seconds)
        agent = assigned or facts.first_reply_by
        if agent != facts.agent:
            # The conversation's earlier days counted it for the previous agent.
            days = session.scalars(select(Message.timestamp).where(Message.conversation_id == facts.conversation_id))
            run.dirty.update(local_day(at, run.tz) for at in days)
            facts.agent = agent
        if facts.first_reply_at is not None and facts.first_response_seconds is None:
            facts.first_response_seconds = business_seconds(run.hours, facts.first_customer_at, facts.first_reply_at,
                                                            run.tz)
        if closed_at is not None:
            facts.closed_at = closed_at
            facts.resolution_seconds = business_seconds(run.hours, facts.first_customer_at or facts.opened_at,
                                                        closed_at, run.tz)
        if before != (facts.agent, facts.closed_at, facts.first_response_seconds, facts.resolution_seconds):
            changed += 1
    session.flush()
    return changed


# --- 3. windows whose 24 hours are over --------------------------------------------------

def _expire_waiting(run: _Run, session: Session, now: datetime) -> None:
    waiting = session.scalars(select(AnalyticsConversation).where(
        AnalyticsConversation.unanswered_since.is_not(None),
        AnalyticsConversation.last_inbound_at <= now - WINDOW)).all()
    for facts in waiting:
        closed = facts.last_inbound_at + WINDOW
        session.add(AnalyticsWindow(conversation_id=facts.conversation_id, agent=facts.agent, expired_at=closed))
        run.dirty.add(local_day(closed, run.tz))
        run.windows += 1
        facts.unanswered_since = None
    session.flush()


# --- 4. the days --------------------------------------------------------------------------

def _blank() -> dict:
    return {"conversations_opened": 0, "messages_in": 0, "messages_out": 0, "templates": defaultdict(int),
            "template_cost": defaultdict(float), "windows_expired": 0}


def compute_days(session: Session, first: date, last: date, run: _Run, catalog: dict[str, str]) -> dict:
    """{(day, agent or None): figures} for the local days first..last, from the messages."""
    start, end = day_bounds(first, last, run.tz)
    prices = run.settings.template_prices
    figures: dict[tuple[date, str | None], dict] = defaultdict(_blank)
    messages = session.execute(
        select(Message.timestamp, Message.direction, Message.author, Message.origin, Message.template_name,
               Message.type, Message.pricing, AnalyticsConversation.agent)
        .outerjoin(AnalyticsConversation, AnalyticsConversation.conversation_id == Message.conversation_id)
        .where(Message.timestamp >= start, Message.timestamp < end)
        .execution_options(yield_per=10_000))
    for at, direction, author, origin, template, kind, pricing, agent in messages:
        day = local_day(at, run.tz)
        if direction == "in":
            keys = (None, agent)
            for key in keys if agent else keys[:1]:
                figures[(day, key)]["messages_in"] += 1
            continue
        keys = (None, author) if is_agent_reply(direction, author, origin) else (None,)
        is_template = kind == "template" or template is not None
        category = template_category(pricing, catalog, template) if is_template else ""
        cost = template_cost(pricing, category, prices) if is_template else 0.0
        for key in keys:
            bucket = figures[(day, key)]
            bucket["messages_out"] += 1
            if is_template:
                bucket["templates"][category] += 1
                bucket["template_cost"][category] += cost
    opened = session.execute(select(AnalyticsConversation.opened_at, AnalyticsConversation.agent)
                             .where(AnalyticsConversation.opened_at >= start, AnalyticsConversation.opened_at < end))
    for at, agent in opened:
        for key in (None, agent) if agent else (None,):
            figures[(local_day(at, run.tz), key)]["conversations_opened"] += 1
    windows = session.execute(select(AnalyticsWindow.expired_at, AnalyticsWindow.agent)
                              .where(AnalyticsWindow.expired_at >= start, AnalyticsWindow.expired_at < end))
    for at, agent in windows:
        for key in (None, agent) if agent else (None,):
            figures[(local_day(at, run.tz), key)]["windows_expired"] += 1
    return figures


def _write_days(session: Session, days: list[date], figures: dict) -> int:
    session.execute(delete(AnalyticsDay).where(AnalyticsDay.day.in_(days)))
    wanted = set(days)
    rows = [{"day": day, "agent": agent, **{k: v for k, v in bucket.items() if k not in ("templates", "template_cost")},
             "templates": dict(sorted(bucket["templates"].items())),
             "template_cost": {k: round(v, 6) for k, v in sorted(bucket["template_cost"].items())}}
            for (day, agent), bucket in figures.items() if day in wanted]
    if rows:
        session.execute(insert(AnalyticsDay), rows)
    return len(rows)


def _runs_of(days: set[date]) -> list[list[date]]:
    """The days in chunks of consecutive days, at most DAYS_PER_TRANSACTION long."""
    chunks: list[list[date]] = []
    for day in sorted(days):
        if chunks and day - chunks[-1][-1] == timedelta(days=1) and len(chunks[-1]) < DAYS_PER_TRANSACTION:
            chunks[-1].append(day)
        else:
            chunks.append([day])
    return chunks


def recompute_days(rt: Runtime, run: _Run, days: set[date]) -> int:
    with rt.db.read_sessions() as s:
        catalog = {name: category.lower() for name, category in s.execute(select(Template.name, Template.category))
                   if category}
    written = 0
    for chunk in _runs_of(days):
        # Each chunk in its own short transaction: the intake never waits long on SQLite.
        with rt.db.sessions() as s, s.begin():
            figures = compute_days(s, chunk[0], chunk[-1], run, catalog)
            written += _write_days(s, chunk, figures)
    return written


# --- the job ----------------------------------------------------------------------------

def _state(session: Session) -> AnalyticsState:
    state = session.get(AnalyticsState, STATE_ID, with_for_update=True)
    if state is None:
        state = AnalyticsState(id=STATE_ID, message_mark=0)
        session.add(state)
        session.flush()
    return state


def run_analytics(rt: Runtime, ctx) -> dict:
    now = ctx.now()
    with rt.db.read_sessions() as s:
        settings = load_settings(s, rt.config)
    run = _Run(tz=rt.config.tz, hours=settings.business_hours_rule(), settings=settings)
    read = 0
    while True:
        with rt.db.read_sessions() as s:
            mark = s.scalar(select(AnalyticsState.message_mark).where(AnalyticsState.id == STATE_ID)) or 0
        rows = _read_batch(rt, mark)
        if not rows:
            break
        with rt.db.sessions() as s, s.begin():
            state = _state(s)
            if state.message_mark != mark:
                continue  # another run moved the mark meanwhile (the scheduler prevents it; a CLI run may not)
            _facts_of_batch(run, s, rows)
            state.message_mark = rows[-1].id
        read += len(rows)
        ctx.progress(read, None)
    with rt.db.sessions() as s, s.begin():
        refreshed = _refresh_open(run, s)
        _expire_waiting(run, s, now)
        _state(s).last_run_at = now
    today = local_day(now, run.tz)
    run.dirty.update(today - timedelta(days=back) for back in range(PRICING_DAYS))
    rows_written = recompute_days(rt, run, run.dirty)
    return {"messages": read, "conversations_refreshed": refreshed, "windows_expired": run.windows,
            "days": len(run.dirty), "rows": rows_written}
