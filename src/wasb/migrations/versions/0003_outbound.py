"""outbound: message send bookkeeping, channel health

Revision ID: 0003_outbound
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import wasb.store.base

revision = "0003_outbound"
down_revision = "0008_live"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("document_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("send_attempted_at", wasb.store.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("send_attempts", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "channel_health",
        sa.Column("phone_number_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("since", wasb.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_at", wasb.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("token_fingerprint", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("phone_number_id", name=op.f("pk_channel_health")),
    )


def downgrade() -> None:
    op.drop_table("channel_health")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("send_attempts")
        batch.drop_column("send_attempted_at")
        batch.drop_column("document_id")
