"""send_slot, send_pace: the send rate and the per-recipient pacing shared by every sender
process on PostgreSQL (wasb.outbound.shared_limits)

Revision ID: 0016_shared_state
Revises: 0015_procrastinate
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0016_shared_state"
down_revision = "0015_procrastinate"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_slot",
        sa.Column("phone_number_id", sa.String(64), primary_key=True),
        sa.Column("slot", sa.Integer(), primary_key=True),
        sa.Column("free_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "send_pace",
        sa.Column("phone_number_id", sa.String(64), primary_key=True),
        sa.Column("recipient", sa.String(64), primary_key=True),
        sa.Column("times", sa.JSON().with_variant(postgresql.ARRAY(sa.Float()), "postgresql"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("send_pace")
    op.drop_table("send_slot")
