"""Campaigns and their recipients; a conversation remembers the campaign its customer replied to.

Revision ID: 0036_campaigns
Revises: 0035_last_status_read
"""
import sqlalchemy as sa
from alembic import op

from wasb.store.base import BigId, JSONType, UTCDateTime

revision = "0036_campaigns"
down_revision = "0035_last_status_read"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("template_id", sa.Integer, sa.ForeignKey("template.id"), nullable=False),
        sa.Column("template_name", sa.String(512), nullable=False),
        sa.Column("template_language", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32)),
        sa.Column("audience", JSONType, nullable=False),
        sa.Column("mapping", JSONType, nullable=False),
        sa.Column("params", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True)),
        sa.Column("finished_at", UTCDateTime(timezone=True)),
        sa.Column("recipients", sa.Integer, nullable=False),
        sa.Column("opted_out", sa.Integer, nullable=False),
        sa.Column("invalid", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.Column("estimated_cost", sa.Float, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_table(
        "campaign_recipient",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("person_id", sa.String(64)),
        sa.Column("person_kind", sa.String(16)),
        sa.Column("name", sa.String(200)),
        sa.Column("phone", sa.String(100), nullable=False),
        sa.Column("wa_id", sa.String(32)),
        sa.Column("country", sa.String(2)),
        sa.Column("param_values", JSONType),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("message_id", sa.BigInteger),
        sa.Column("wa_contact_id", sa.Integer),
        sa.Column("queued_at", UTCDateTime(timezone=True)),
        sa.Column("replied_at", UTCDateTime(timezone=True)),
    )
    op.create_index("ix_campaign_recipient_state", "campaign_recipient", ["campaign_id", "state", "id"])
    op.create_index("ix_campaign_recipient_contact", "campaign_recipient", ["wa_contact_id", "queued_at"])
    op.add_column("conversation", sa.Column("campaign_id", sa.Integer, nullable=True))
    op.add_column("wa_contact", sa.Column("campaign_sent_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("wa_contact", "campaign_sent_at")
    op.drop_column("conversation", "campaign_id")
    op.drop_table("campaign_recipient")
    op.drop_table("campaign")
