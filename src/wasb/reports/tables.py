"""Analytics kept, not scanned per view (wasb.reports.analytics fills them).

- `analytics_day`: a local day's figures (WASB_TIMEZONE), one row per agent and one with
  agent NULL for everything (automatic messages count only there).
- `analytics_conversation`: per conversation the facts response times are made of,
  with the business seconds computed once.
- `analytics_window`: each customer-service window that closed without an agent's answer.
- `analytics_state`: the job's watermark (the last message id it has read).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wasb.store.base import Base, BigId, JSONType, UTCDateTime


class AnalyticsDay(Base):
    __tablename__ = "analytics_day"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    agent: Mapped[str | None] = mapped_column(String(100))
    conversations_opened: Mapped[int] = mapped_column(Integer, default=0)
    messages_in: Mapped[int] = mapped_column(Integer, default=0)
    messages_out: Mapped[int] = mapped_column(Integer, default=0)
    # {category: count} and {category: cost in the settings' currency}
    templates: Mapped[dict] = mapped_column(JSONType, default=dict)
    template_cost: Mapped[dict] = mapped_column(JSONType, default=dict)
    windows_expired: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_analytics_day_day_agent", "day", "agent"),)


class AnalyticsConversation(Base):
    __tablename__ = "analytics_conversation"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id"), primary_key=True)
    # The conversation's assignee, else the agent who answered first.
    agent: Mapped[str | None] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)  # its first message
    first_customer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_reply_by: Mapped[str | None] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The customer's first message no agent has answered yet (NULL: nothing waits).
    unanswered_since: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    first_response_seconds: Mapped[float | None] = mapped_column(Float)  # business time
    resolution_seconds: Mapped[float | None] = mapped_column(Float)  # business time


class AnalyticsWindow(Base):
    __tablename__ = "analytics_window"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id"), index=True)
    agent: Mapped[str | None] = mapped_column(String(100))
    expired_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AnalyticsState(Base):
    __tablename__ = "analytics_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_mark: Mapped[int] = mapped_column(BigId, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
