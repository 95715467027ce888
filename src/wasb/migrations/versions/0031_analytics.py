"""analytics: daily figures, per-conversation response facts, expired windows, the job's mark

Revision ID: 0031_analytics
Revises: 0027_canned_replies
"""
from alembic import op
import sqlalchemy as sa

from wasb.store.base import BigId, JSONType, UTCDateTime

revision = "0031_analytics"
down_revision = "0027_canned_replies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_day",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("agent", sa.String(100)),
        sa.Column("conversations_opened", sa.Integer, nullable=False),
        sa.Column("messages_in", sa.Integer, nullable=False),
        sa.Column("messages_out", sa.Integer, nullable=False),
        sa.Column("templates", JSONType, nullable=False),
        sa.Column("template_cost", JSONType, nullable=False),
        sa.Column("windows_expired", sa.Integer, nullable=False),
    )
    op.create_index("ix_analytics_day_day_agent", "analytics_day", ["day", "agent"])
    op.create_table(
        "analytics_conversation",
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversation.id"), primary_key=True),
        sa.Column("agent", sa.String(100)),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_customer_at", UTCDateTime(timezone=True)),
        sa.Column("first_reply_at", UTCDateTime(timezone=True)),
        sa.Column("first_reply_by", sa.String(100)),
        sa.Column("closed_at", UTCDateTime(timezone=True)),
        sa.Column("last_inbound_at", UTCDateTime(timezone=True)),
        sa.Column("unanswered_since", UTCDateTime(timezone=True)),
        sa.Column("first_response_seconds", sa.Float),
        sa.Column("resolution_seconds", sa.Float),
    )
    for column in ("first_customer_at", "closed_at", "unanswered_since"):
        op.create_index(f"ix_analytics_conversation_{column}", "analytics_conversation", [column])
    op.create_table(
        "analytics_window",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversation.id"), nullable=False),
        sa.Column("agent", sa.String(100)),
        sa.Column("expired_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_analytics_window_conversation_id", "analytics_window", ["conversation_id"])
    op.create_index("ix_analytics_window_expired_at", "analytics_window", ["expired_at"])
    op.create_table(
        "analytics_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_mark", BigId, nullable=False),
        sa.Column("last_run_at", UTCDateTime(timezone=True)),
    )
    # A day's messages are read by time when the job recomputes it.
    op.create_index("ix_message_timestamp", "message", ["timestamp"])


def downgrade() -> None:
    op.drop_index("ix_message_timestamp", table_name="message")
    op.drop_table("analytics_state")
    op.drop_index("ix_analytics_window_expired_at", table_name="analytics_window")
    op.drop_index("ix_analytics_window_conversation_id", table_name="analytics_window")
    op.drop_table("analytics_window")
    for column in ("first_customer_at", "closed_at", "unanswered_since"):
        op.drop_index(f"ix_analytics_conversation_{column}", table_name="analytics_conversation")
    op.drop_table("analytics_conversation")
    op.drop_index("ix_analytics_day_day_agent", table_name="analytics_day")
    op.drop_table("analytics_day")
